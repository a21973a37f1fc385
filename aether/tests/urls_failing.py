"""The site's URLs plus a page that fails and one that answers the 503 page, for the error pages."""

from django.shortcuts import render
from django.urls import path

from aether.urls import urlpatterns as site_urlpatterns


def failing_page(request):
    raise RuntimeError("a bug")


def unavailable_page(request):
    # As the answer for an unreachable database renders it: the template alone, no user.
    return render(request, "503.html", status=503)


urlpatterns = [path("failing/", failing_page), path("unavailable/", unavailable_page), *site_urlpatterns]
