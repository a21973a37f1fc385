"""Space and member writes racing the deletion of a row they refer to, on two real connections
interleaved by the test: the loser is told the row is gone, never a foreign key violation at commit."""

import pytest

from accounts import services
from accounts.models import Membership, Space, User
from aether.tests.concurrency import Call, Held, after, wait_until_blocked

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_adding_a_member_deleted_after_the_lookup_answers_404(
    session_api_client, ada, acme, make_user, monkeypatch
):
    grace = make_user(email="grace@example.com")
    after(monkeypatch, services, "user_by_email", lambda: User.objects.filter(pk=grace.pk).delete())

    response = session_api_client(ada).post(
        f"/api/v1/spaces/{acme.pk}/members", {"email": "grace@example.com", "role": "member"}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "No user with this e-mail address has signed in yet."}
    assert list(Membership.objects.filter(space=acme).values_list("user__email", flat=True)) == [ada.email]


def test_a_member_being_deleted_while_added_waits_and_is_unknown(ada, acme, make_user):
    grace = make_user(email="grace@example.com")
    # Grace's deletion holds her row, uncommitted, while the addition arrives.
    deletion = Held(lambda: User.objects.get(pk=grace.pk).delete())
    adding = Call(
        lambda: services.member_add_by_email(space=acme, actor=ada, email=grace.email, role="member")
    )
    wait_until_blocked()
    deletion.commit()

    with pytest.raises(services.UnknownEmail):
        adding.join()
    assert list(Membership.objects.filter(space=acme).values_list("user_id", flat=True)) == [ada.pk]


def test_a_space_created_by_a_user_deleted_meanwhile_is_not_created(ada, monkeypatch):
    # Deleted once the space is validated (its owner then still existed), before it is saved.
    after(monkeypatch, Space, "full_clean", lambda: User.objects.filter(pk=ada.pk).delete())

    with pytest.raises(User.DoesNotExist):
        services.space_create_organization(owner=ada, name="Too late")

    assert not Space.objects.filter(name="Too late").exists()


def test_claims_applied_to_a_user_deleted_since_the_read_say_the_user_is_gone(make_user):
    user = make_user(email="old@example.com")
    User.objects.filter(pk=user.pk).delete()

    with pytest.raises(User.DoesNotExist):
        services.user_apply_claims(user=user, claims={"sub": user.sub, "email": "new@example.com"})
    assert not User.objects.filter(pk=user.pk).exists()


def test_a_bearer_call_of_a_user_deleted_during_their_sign_in_answers_401(
    client, keycloak_issuer, monkeypatch
):
    token = keycloak_issuer.access_token("kc-deleted", email="old@example.com")
    assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    apply_claims = services.user_apply_claims

    def deleted_first(*, user, claims):
        # An administrator deletes the user between the sign-in's read of them and its write.
        User.objects.filter(pk=user.pk).delete()
        return apply_claims(user=user, claims=claims)

    monkeypatch.setattr(services, "user_apply_claims", deleted_first)
    renamed = keycloak_issuer.access_token("kc-deleted", email="new@example.com")
    response = client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {renamed}")

    assert response.status_code == 401
    assert response.json() == {"detail": "This account was deleted."}
    assert not User.objects.filter(sub="kc-deleted").exists()
