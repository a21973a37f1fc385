"""Aether's admin site: its name, its layout, and a clear refusal of parameters no value can hold.

Installed in place of ``django.contrib.admin`` (``AetherAdminConfig`` in ``INSTALLED_APPS``), so
``admin.site`` and every ``@admin.register`` use it.
"""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from aether.rows import delete_locked


class AetherAdminSite(admin.AdminSite):
    site_header = "Aether administration"
    site_title = "Aether administration"
    # The lists (users, runs) need the width more than a second copy of the index beside them does.
    enable_nav_sidebar = False

    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        """Every admin page, first refusing a query parameter that holds a NUL character.

        No value in the database can hold one (PostgreSQL refuses it), so such a search or filter
        would fail as a server error; it is answered with a page saying what is wrong instead.
        Forms check their own fields (Django's form fields refuse NUL characters with a message).
        """
        guarded = super().admin_view(view, cacheable)

        def refuse_nul(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
                context = {**self.each_context(request), "title": "Not a valid address"}
                return TemplateResponse(request, "admin/bad_parameter.html", context, status=400)
            return guarded(request, *args, **kwargs)

        return refuse_nul


class LockedDeleteMixin:
    """For the admin of a model with rows under it (a space's notebooks, a notebook's documents): its
    deletes, of one object or of a selection, lock every row they take with them first
    (``aether.rows.delete_locked``), so a row a member adds under it at that moment is deleted with it
    instead of failing the delete."""

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        delete_locked(type(obj)._base_manager.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        delete_locked(queryset)


class AetherAdminConfig(AdminConfig):
    default_site = "aether.admin_site.AetherAdminSite"
