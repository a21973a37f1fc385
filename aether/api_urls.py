"""Routes of the JSON API, mounted at ``/api/v1/``."""

from django.urls import path

from accounts.api.views import UserMeView

app_name = "api"

urlpatterns = [
    path("users/me", UserMeView.as_view(), name="users-me"),
]
