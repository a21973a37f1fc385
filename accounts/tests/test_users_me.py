import pytest

from accounts.models import Space
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_users_me_describes_the_signed_in_user(client, user):
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    body = client.get("/api/v1/users/me").json()

    assert body["id"] == str(user.pk)
    assert (body["sub"], body["email"], body["full_name"]) == (user.sub, "ada@example.com", "Ada Lovelace")
    assert body["personal_space_id"] == str(Space.objects.get(owner=user, type="personal").pk)
    assert body["onboarding_status"] == "completed"
    assert body["is_staff"] is False


def test_users_me_needs_a_signed_in_user(client):
    response = client.get("/api/v1/users/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
