from django.urls import path

from onboarding import views

urlpatterns = [
    path("onboarding/retry/", views.onboarding_retry, name="onboarding-retry"),
    path("onboarding/dismiss/", views.onboarding_dismiss, name="onboarding-dismiss"),
]
