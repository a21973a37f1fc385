"""Space pages: the user's spaces, a new organization space, and a space's members.

The rules are ``accounts.services``' (the API's too): only owners and admins change members, only
owners grant or take away ``owner``, the last owner stays, and a space the user is not a member of
answers 404 (``accounts.page_access``).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.current_space import remember_space
from accounts.forms import MemberAddForm, MemberRoleForm, SpaceForm
from accounts.models import Membership
from accounts.page_access import member_controls, membership_or_404, require_member_manager
from aether.forms import add_service_errors
from aether.paging import list_page, page_number

MEMBERS_PAGE_SIZE = 50


@login_required
@require_GET
def space_list(request: HttpRequest) -> HttpResponse:
    """Every space the user is a member of, with their role there."""
    return render(
        request, "accounts/space_list.html", {"memberships": selectors.memberships_of(request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def space_create(request: HttpRequest) -> HttpResponse:
    """Create an organization space owned by the user, and make it their current space."""
    form = SpaceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            space = services.space_create_organization(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            remember_space(request, selectors.membership_in(request.user, space.pk))
            messages.success(
                request, f"Organization space “{space.name}” created. Add its members from “Members”."
            )
            return redirect("space-dashboard", space_id=space.pk)
    return render(request, "accounts/space_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def space_members(request: HttpRequest, space_id: str) -> HttpResponse:
    """A space's members; owners and admins add people by e-mail here (POST)."""
    membership = membership_or_404(request.user, space_id)
    add_form = None
    if membership.can_manage_members and not membership.space.is_personal:
        add_form = MemberAddForm(
            request.POST if request.method == "POST" else None, roles=membership.grantable_roles
        )
    if request.method == "POST":
        require_member_manager(membership)
        if add_form is None:
            raise Http404("A personal space has no other members.")
        added = _add_member(request, membership, add_form)
        if added is not None:
            messages.success(
                request, f"{added.user.display_name} added as {added.get_role_display().lower()}."
            )
            return redirect("space-members", space_id=membership.space_id)
    return _render_members(request, membership, add_form)


def _add_member(request: HttpRequest, membership: Membership, form: MemberAddForm) -> Membership | None:
    if not form.is_valid():
        return None
    try:
        return services.member_add_by_email(space=membership.space, actor=request.user, **form.cleaned_data)
    except (services.UnknownEmail, services.MembershipConflict) as error:
        form.add_error("email", str(error))
    except ValidationError as error:
        add_service_errors(form, error)
    return None


def _render_members(
    request: HttpRequest,
    membership: Membership,
    add_form: MemberAddForm | None,
    *,
    error: str = "",
    status: int | None = None,
) -> HttpResponse:
    space = membership.space
    page = list_page(selectors.space_members(space), number=page_number(request), size=MEMBERS_PAGE_SIZE)
    owner_count = selectors.space_owner_count(space)
    rows = [(member, member_controls(membership, member, owner_count=owner_count)) for member in page.items]
    context = {
        "membership": membership,
        "space": space,
        "rows": rows,
        "page": page,
        "add_form": add_form,
        "error": error,
    }
    if status is None:
        status = 400 if add_form is not None and add_form.errors else 200
    return render(request, "accounts/space_members.html", context, status=status)


def _target(request: HttpRequest, space_id: str, user_id: str) -> tuple[Membership, Membership]:
    """The caller's membership (if it manages members) and the member they name; 404 for strangers."""
    membership = require_member_manager(membership_or_404(request.user, space_id))
    target = selectors.space_member(membership.space, user_id)
    if target is None:
        raise Http404("This person is not a member of the space.")
    return membership, target


@login_required
@require_POST
def member_role(request: HttpRequest, space_id: str, user_id: str) -> HttpResponse:
    """Change a member's role."""
    membership, target = _target(request, space_id, user_id)
    form = MemberRoleForm(request.POST, roles=membership.grantable_roles)
    if not form.is_valid():
        return _render_members(
            request,
            membership,
            _empty_add_form(membership),
            error="Choose one of the roles offered.",
            status=400,
        )
    try:
        changed = services.member_change_role(
            space=membership.space, actor=request.user, user=target.user, role=form.cleaned_data["role"]
        )
    except services.MembershipConflict as conflict:
        return _render_members(
            request, membership, _empty_add_form(membership), error=str(conflict), status=409
        )
    messages.success(request, f"{changed.user.display_name} is now {changed.get_role_display().lower()}.")
    # Back to the members page, which shows what the caller may do now (their own role may have changed).
    return redirect("space-members", space_id=membership.space_id)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, space_id: str, user_id: str) -> HttpResponse:
    """Remove a member, after a confirmation page."""
    membership, target = _target(request, space_id, user_id)
    if request.method == "GET":
        context = {"membership": membership, "space": membership.space, "target": target}
        return render(request, "accounts/member_remove.html", context)
    try:
        services.member_remove(space=membership.space, actor=request.user, user=target.user)
    except services.MembershipConflict as conflict:
        return _render_members(
            request, membership, _empty_add_form(membership), error=str(conflict), status=409
        )
    if target.user_id == request.user.pk:
        messages.success(request, f"You left “{membership.space.name}”.")
        return redirect(reverse("home"))
    messages.success(request, f"{target.user.display_name} removed from “{membership.space.name}”.")
    return redirect("space-members", space_id=membership.space_id)


def _empty_add_form(membership: Membership) -> MemberAddForm | None:
    if membership.space.is_personal:
        return None
    return MemberAddForm(roles=membership.grantable_roles)
