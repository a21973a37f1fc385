"""The notebook pages mounted under another prefix, to check links follow the URL configuration."""

from django.urls import include, path

urlpatterns = [path("elsewhere/", include("notebooks.urls"))]
