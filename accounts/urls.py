"""Sign-in routes, mounted at ``/oidc/`` under the names mozilla-django-oidc reverses."""

from django.urls import path
from mozilla_django_oidc.views import OIDCLogoutView

from accounts.views import CallbackView, SignInView, backchannel_logout

urlpatterns = [
    path("authenticate/", SignInView.as_view(), name="oidc_authentication_init"),
    path("callback/", CallbackView.as_view(), name="oidc_authentication_callback"),
    # POST only: ends Aether's session, then the provider's (OIDC_OP_LOGOUT_URL_METHOD).
    path("logout/", OIDCLogoutView.as_view(), name="oidc_logout"),
    # The provider's server POSTs logout tokens here (the client's back-channel logout URL).
    path("backchannel-logout/", backchannel_logout, name="oidc_backchannel_logout"),
]
