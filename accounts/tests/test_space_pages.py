"""The space pages: create organization spaces and manage their members, with the API's rules."""

import pytest

from accounts.models import Membership, Space
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


@pytest.fixture
def grace(make_user):
    return make_user(full_name="Grace Hopper", email="grace@example.com")


def members_url(space: Space) -> str:
    return f"/spaces/{space.pk}/members/"


def role_of(space: Space, user) -> str | None:
    return Membership.objects.filter(space=space, user=user).values_list("role", flat=True).first()


def test_a_user_creates_an_organization_space_and_lands_on_its_dashboard(signed_in, ada):
    response = signed_in.post(
        "/spaces/new/", {"name": "  Acme Research ", "description": "Our lab"}, follow=True
    )

    space = Space.objects.get(name="Acme Research")
    assert (space.type, space.owner, space.description) == ("organization", ada, "Our lab")
    assert role_of(space, ada) == "owner"
    assert response.redirect_chain[-1][0] == f"/spaces/{space.pk}/"
    page = response.content.decode()
    assert "Organization space “Acme Research” created." in page
    assert f'href="/spaces/{space.pk}/members/"' in page
    assert f'<option value="{space.pk}" selected>Acme Research (Owner)</option>' in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "Ensure this value has at most 200 characters (it has 201)."),
        ({"name": "Acme\u202eevil"}, "name", "Names cannot contain control characters"),
        ({"name": "Nul\x00"}, "name", "Null characters are not allowed."),
        ({"name": "Acme", "description": "x" * 10_001}, "description", "Ensure this value has at most 10000"),
    ],
)
def test_a_space_form_refuses_bad_input_next_to_the_field_and_keeps_it(signed_in, fields, field, message):
    response = signed_in.post("/spaces/new/", {"description": "Kept", **fields})

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}' in page
    if field == "name":
        assert "Kept</textarea>" in page
    assert not Space.objects.filter(type="organization").exists()


def test_the_spaces_page_lists_the_users_spaces_with_roles(signed_in, ada, grace):
    acme = space_create_organization(owner=grace, name="Acme")
    membership_add(space=acme, user=ada, role=Membership.Role.VIEWER)

    page = signed_in.get("/spaces/").content.decode()

    assert "Ada Lovelace&#x27;s Personal Space" in page
    assert "Acme" in page and "your role: Viewer" in page
    assert 'href="/spaces/new/"' in page


def test_an_owner_adds_a_member_by_email_makes_them_admin_and_removes_them(signed_in, ada, grace):
    acme = space_create_organization(owner=ada, name="Acme")

    added = signed_in.post(members_url(acme), {"email": "GRACE@example.com ", "role": "member"}, follow=True)
    assert "Grace Hopper added as member." in added.content.decode()
    assert role_of(acme, grace) == "member"

    changed = signed_in.post(f"{members_url(acme)}{grace.pk}/role/", {"role": "admin"}, follow=True)
    assert "Grace Hopper is now admin." in changed.content.decode()
    assert role_of(acme, grace) == "admin"

    confirmation = signed_in.get(f"{members_url(acme)}{grace.pk}/remove/").content.decode()
    assert "Remove Grace Hopper from “Acme”?" in confirmation
    assert role_of(acme, grace) == "admin"
    removed = signed_in.post(f"{members_url(acme)}{grace.pk}/remove/", follow=True)
    assert "Grace Hopper removed from “Acme”." in removed.content.decode()
    assert role_of(acme, grace) is None


def test_the_last_owner_has_no_demote_or_remove_controls_and_the_page_says_why(signed_in, ada, grace):
    acme = space_create_organization(owner=ada, name="Acme")
    membership_add(space=acme, user=grace, role=Membership.Role.MEMBER)

    page = signed_in.get(members_url(acme)).content.decode()

    assert (
        "The space&#x27;s last owner can be neither removed nor demoted: make another member owner first."
        in page
    )
    assert f"/members/{ada.pk}/remove/" not in page and f"/members/{ada.pk}/role/" not in page
    assert f"/members/{grace.pk}/remove/" in page and f"/members/{grace.pk}/role/" in page


def test_demoting_or_removing_the_last_owner_anyway_is_refused_with_the_reason(signed_in, ada):
    acme = space_create_organization(owner=ada, name="Acme")

    demoted = signed_in.post(f"{members_url(acme)}{ada.pk}/role/", {"role": "member"})
    removed = signed_in.post(f"{members_url(acme)}{ada.pk}/remove/")

    assert demoted.status_code == removed.status_code == 409
    assert (
        "The space&#x27;s last owner cannot be demoted; make another member owner first."
        in demoted.content.decode()
    )
    assert "The space&#x27;s last owner cannot be removed." in removed.content.decode()
    assert role_of(acme, ada) == "owner"


def test_a_second_owner_makes_the_first_removable(signed_in, ada, grace):
    acme = space_create_organization(owner=ada, name="Acme")
    membership_add(space=acme, user=grace, role=Membership.Role.OWNER)

    page = signed_in.get(members_url(acme)).content.decode()
    response = signed_in.post(f"{members_url(acme)}{ada.pk}/remove/", follow=True)

    assert f"/members/{ada.pk}/remove/" in page
    assert "You left “Acme”." in response.content.decode()
    assert role_of(acme, ada) is None


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.com", "No user with this e-mail address has signed in yet."),
        ("not an address", "Enter a valid email address."),
        ("", "This field is required."),
        ("ada@example.com", "This user is already a member; change their role instead."),
    ],
)
def test_adding_a_member_refuses_bad_addresses_next_to_the_field(signed_in, ada, email, message):
    acme = space_create_organization(owner=ada, name="Acme")

    response = signed_in.post(members_url(acme), {"email": email, "role": "viewer"})

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_email_error"><li>{message}' in page
    assert '<option value="viewer" selected>Viewer</option>' in page  # what was chosen stays
    assert Membership.objects.filter(space=acme).count() == 1


def test_an_admin_is_not_offered_the_owner_role_and_cannot_grant_it(client, ada, grace, make_user):
    acme = space_create_organization(owner=ada, name="Acme")
    membership_add(space=acme, user=grace, role=Membership.Role.ADMIN)
    newcomer = make_user(email="new@example.com")
    client.force_login(grace)

    page = client.get(members_url(acme)).content.decode()
    added = client.post(members_url(acme), {"email": "new@example.com", "role": "owner"})
    promoted = client.post(f"{members_url(acme)}{grace.pk}/role/", {"role": "owner"})

    assert 'value="owner"' not in page
    assert "Only an owner can change or remove an owner." in page  # next to Ada, the owner
    assert f"/members/{ada.pk}/remove/" not in page
    assert added.status_code == promoted.status_code == 400
    assert role_of(acme, newcomer) is None and role_of(acme, grace) == "admin"


def test_members_and_viewers_see_the_members_but_cannot_change_them(client, ada, grace):
    acme = space_create_organization(owner=ada, name="Acme")
    membership_add(space=acme, user=grace, role=Membership.Role.MEMBER)
    client.force_login(grace)

    page = client.get(members_url(acme)).content.decode()
    responses = [
        client.post(members_url(acme), {"email": "ada@example.com", "role": "member"}),
        client.post(f"{members_url(acme)}{ada.pk}/role/", {"role": "viewer"}),
        client.post(f"{members_url(acme)}{ada.pk}/remove/"),
    ]

    assert (
        "Ada Lovelace" in page
        and "Only this space's owners and admins can add, change or remove members." in page
    )
    assert "Add a member" not in page and "/role/" not in page
    assert [response.status_code for response in responses] == [403, 403, 403]
    assert role_of(acme, ada) == "owner"


def test_outsiders_get_404_for_every_member_page(client, ada, grace):
    acme = space_create_organization(owner=ada, name="Acme")
    client.force_login(grace)

    for response in (
        client.get(members_url(acme)),
        client.post(members_url(acme), {"email": "grace@example.com", "role": "owner"}),
        client.post(f"{members_url(acme)}{ada.pk}/role/", {"role": "viewer"}),
        client.get(f"{members_url(acme)}{ada.pk}/remove/"),
        client.post(f"{members_url(acme)}{ada.pk}/remove/"),
    ):
        assert response.status_code == 404
    assert list(Membership.objects.filter(space=acme).values_list("role", flat=True)) == ["owner"]


def test_a_personal_space_has_no_member_controls(signed_in, ada, grace):
    space = personal_space_of(ada)

    page = signed_in.get(members_url(space)).content.decode()
    response = signed_in.post(members_url(space), {"email": "grace@example.com", "role": "member"})

    assert "This is your personal space: it has no other members." in page
    assert "Add a member" not in page
    assert response.status_code == 404
    assert role_of(space, grace) is None


def test_space_and_member_text_is_escaped(signed_in, ada, make_user):
    acme = space_create_organization(owner=ada, name=XSS, description=XSS)
    membership_add(space=acme, user=make_user(full_name=XSS, email="x@example.com"), role="member")

    for url in ("/spaces/", members_url(acme), f"/spaces/{acme.pk}/"):
        page = signed_in.get(url).content.decode()
        assert XSS not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
