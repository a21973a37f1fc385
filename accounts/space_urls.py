"""Space and member pages, mounted at the site's root."""

from django.urls import path

from accounts import space_views

urlpatterns = [
    path("spaces/", space_views.space_list, name="space-list"),
    path("spaces/new/", space_views.space_create, name="space-create"),
    path("spaces/<uuid:space_id>/members/", space_views.space_members, name="space-members"),
    path("spaces/<uuid:space_id>/members/<uuid:user_id>/role/", space_views.member_role, name="member-role"),
    path(
        "spaces/<uuid:space_id>/members/<uuid:user_id>/remove/",
        space_views.member_remove,
        name="member-remove",
    ),
]
