import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, User
from accounts.services import membership_add

pytestmark = pytest.mark.django_db


def test_my_spaces_lists_personal_organizations_and_the_current_one(api_client, ada, acme):
    client = api_client(ada)
    personal = ada.owned_spaces.get(type="personal")

    body = client.get("/api/v1/users/me/spaces").json()
    assert body["personal_space"] == {
        "id": str(personal.pk),
        "name": "Ada Lovelace's Personal Space",
        "description": "",
        "type": "personal",
        "role": "owner",
        "created_at": body["personal_space"]["created_at"],
    }
    assert [(s["name"], s["type"], s["role"]) for s in body["organization_spaces"]] == [
        ("Acme", "organization", "owner")
    ]
    assert body["current_space"]["id"] == str(personal.pk)

    chosen = client.get("/api/v1/users/me/spaces", HTTP_X_SPACE_ID=str(acme.pk)).json()
    assert chosen["current_space"]["id"] == str(acme.pk)
    assert client.get("/api/v1/users/me/spaces", HTTP_X_SPACE_ID="nope").status_code == 400


def test_create_list_and_read_organization_spaces(api_client, ada, make_user):
    client = api_client(ada)

    created = client.post("/api/v1/spaces", {"name": "Lab", "description": "R&D"}, format="json")
    assert created.status_code == 201
    assert (created.json()["role"], created.json()["type"]) == ("owner", "organization")
    space_id = created.json()["id"]

    listed = client.get("/api/v1/spaces").json()
    assert [s["name"] for s in listed["results"]] == ["Lab"]
    assert client.get(f"/api/v1/spaces/{space_id}").json()["description"] == "R&D"
    assert client.post("/api/v1/spaces", {"name": ""}, format="json").status_code == 400

    outsider = api_client(make_user())
    assert outsider.get(f"/api/v1/spaces/{space_id}").status_code == 404
    assert outsider.get("/api/v1/spaces").json()["count"] == 0


def test_owners_add_members_by_email_and_change_and_remove_them(api_client, ada, acme, make_user):
    bob = make_user(email="bob@example.com")
    client = api_client(ada)
    members = f"/api/v1/spaces/{acme.pk}/members"

    added = client.post(members, {"email": "BOB@example.com", "role": "viewer"}, format="json")
    assert added.status_code == 201, added.content
    assert added.json() == {
        "user_id": str(bob.pk),
        "email": "bob@example.com",
        "full_name": bob.full_name,
        "role": "viewer",
    }
    assert client.post(members, {"email": "bob@example.com"}, format="json").status_code == 409
    unknown = client.post(members, {"email": "nobody@example.com"}, format="json")
    assert unknown.status_code == 404
    assert "signed in" in unknown.json()["detail"]

    assert [(m["email"], m["role"]) for m in client.get(members).json()["results"]] == [
        ("ada@example.com", "owner"),
        ("bob@example.com", "viewer"),
    ]
    promoted = client.patch(f"{members}/{bob.pk}", {"role": "admin"}, format="json")
    assert promoted.json()["role"] == "admin"
    assert client.delete(f"{members}/{bob.pk}").status_code == 204
    assert not Membership.objects.filter(space=acme, user=bob).exists()
    assert client.delete(f"{members}/{bob.pk}").status_code == 404


def test_only_owners_and_admins_change_members(api_client, ada, acme, make_user):
    member, carol = make_user(), make_user(email="carol@example.com")
    membership_add(space=acme, user=member, role=Membership.Role.MEMBER)
    client = api_client(member)
    members = f"/api/v1/spaces/{acme.pk}/members"

    assert client.get(members).status_code == 200
    refused = [
        client.post(members, {"email": "carol@example.com"}, format="json"),
        client.patch(f"{members}/{ada.pk}", {"role": "viewer"}, format="json"),
        client.delete(f"{members}/{ada.pk}"),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert not Membership.objects.filter(space=acme, user=carol).exists()
    assert Membership.objects.get(space=acme, user=ada).role == "owner"


def test_admins_cannot_touch_owners_and_the_last_owner_stays(api_client, ada, acme, make_user):
    admin = make_user(email="admin@example.com")
    membership_add(space=acme, user=admin, role=Membership.Role.ADMIN)
    members = f"/api/v1/spaces/{acme.pk}/members"

    as_admin = api_client(admin)
    assert as_admin.patch(f"{members}/{ada.pk}", {"role": "member"}, format="json").status_code == 403
    assert as_admin.patch(f"{members}/{admin.pk}", {"role": "owner"}, format="json").status_code == 403
    assert as_admin.delete(f"{members}/{ada.pk}").status_code == 403

    as_owner = api_client(ada)
    demote_self = as_owner.patch(f"{members}/{ada.pk}", {"role": "admin"}, format="json")
    assert demote_self.status_code == 409
    assert "last owner" in demote_self.json()["detail"]
    assert as_owner.delete(f"{members}/{ada.pk}").status_code == 409

    assert as_owner.patch(f"{members}/{admin.pk}", {"role": "owner"}, format="json").status_code == 200
    assert as_owner.delete(f"{members}/{ada.pk}").status_code == 204
    assert list(Membership.objects.filter(space=acme).values_list("user_id", "role")) == [(admin.pk, "owner")]


def test_a_personal_space_takes_no_members(api_client, ada, make_user):
    make_user(email="bob@example.com")
    personal = ada.owned_spaces.get(type="personal")

    response = api_client(ada).post(
        f"/api/v1/spaces/{personal.pk}/members", {"email": "bob@example.com"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "A personal space has no other members."}


def test_an_unverified_email_cannot_be_used_to_add_a_member(api_client, ada, acme, keycloak_issuer):
    # Someone signs in with an address they have not confirmed at the provider.
    token = keycloak_issuer.access_token("squatter", email="boss@example.com", email_verified=False)
    squatter = APIClient()
    squatter.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert squatter.get("/api/v1/users/me").status_code == 200

    response = api_client(ada).post(
        f"/api/v1/spaces/{acme.pk}/members", {"email": "boss@example.com"}, format="json"
    )

    assert response.status_code == 404
    assert not Membership.objects.filter(space=acme, user__sub="squatter").exists()


def test_verification_follows_the_claims_at_every_sign_in(keycloak_issuer, client):
    def sign_in(**claims):
        token = keycloak_issuer.access_token("verify-1", **claims)
        assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
        return User.objects.get(sub="verify-1").email_verified

    assert sign_in(email_verified=False) is False
    assert sign_in(email_verified=True) is True
    assert sign_in(email_verified=False) is False
    # Absent is unknown, and accepted (the development provider sends no such claim).
    assert sign_in(email_verified=None) is True


def test_a_viewer_cannot_learn_which_addresses_have_signed_in(api_client, ada, acme, make_user):
    viewer = make_user()
    make_user(email="known@example.com")
    membership_add(space=acme, user=viewer, role=Membership.Role.VIEWER)
    members = f"/api/v1/spaces/{acme.pk}/members"
    client = api_client(viewer)

    known = client.post(members, {"email": "known@example.com"}, format="json")
    unknown = client.post(members, {"email": "nobody@example.com"}, format="json")

    assert (known.status_code, unknown.status_code) == (403, 403)
    assert known.json() == unknown.json()


def test_a_concurrent_duplicate_add_is_a_conflict(ada, acme, make_user, monkeypatch):
    bob = make_user(email="bob@example.com")
    membership_add(space=acme, user=bob)
    # Failure injection: the membership check runs before a concurrent request commits the same
    # membership, so the insert itself hits the unique constraint.
    monkeypatch.setattr(services, "_is_member", lambda space, user: False)

    with pytest.raises(services.MembershipConflict):
        services.member_add_by_email(space=acme, actor=ada, email="bob@example.com", role="member")

    assert Membership.objects.filter(space=acme, user=bob).count() == 1
