"""Turning a user inactive ends every session they hold at once: the service, the admin, the command.

Without ending them, an inactive user's browser would already be refused (the backends check
``is_active``), so these tests look where that check cannot: the sessions are gone from the session
store, and turning the user active again brings none of them back.
"""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import BrowserSession, User
from accounts.services import user_deactivate
from accounts.sessions import session_store

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


def browser_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/").wsgi_request.user.is_authenticated


def reactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=True)


@pytest.fixture
def superuser(make_user) -> User:
    return make_user(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(superuser) -> Client:
    return browser_of(superuser)


def test_deactivating_ends_every_session_of_the_user_and_nobody_elses(make_user):
    ada, grace = make_user(), make_user()
    laptop, phone, other = browser_of(ada), browser_of(ada), browser_of(grace)
    keys = [laptop.session.session_key, phone.session.session_key]

    result = user_deactivate(user=ada)

    assert (result.was_active, result.sessions_ended) == (True, 2)
    assert not User.objects.get(pk=ada.pk).is_active
    assert not any(session_store().exists(key) for key in keys)
    assert not BrowserSession.objects.filter(user=ada).exists()
    reactivate(ada)
    assert (is_signed_in(laptop), is_signed_in(phone), is_signed_in(other)) == (False, False, True)


def test_deactivating_twice_reports_the_user_already_inactive(make_user):
    ada = make_user()
    user_deactivate(user=ada)

    again = user_deactivate(user=ada)

    assert (again.was_active, again.sessions_ended) == (False, 0)


def test_a_jwt_bearer_token_is_refused_at_the_next_request(make_user, keycloak_issuer, client):
    jwt_user = make_user(sub="kc-deactivated")
    jwt_token = keycloak_issuer.access_token("kc-deactivated")
    assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {jwt_token}").status_code == 200
    user_deactivate(user=jwt_user)
    response = client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {jwt_token}")
    assert response.status_code == 401
    assert response.json() == {"detail": "This account is disabled."}


def test_an_opaque_bearer_token_is_refused_at_the_next_request(dev_provider, client):
    # The provider's answer about this token stays cached for 60 s: the user's state is what refuses it.
    dev_provider.set_user("opaque-deactivated", email="opaque@example.com")
    token = dev_provider.access_token("opaque-deactivated")
    assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

    user_deactivate(user=User.objects.get(sub="opaque-deactivated"))

    response = client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json() == {"detail": "This account is disabled."}


# --- the admin --------------------------------------------------------------------------------------


def change_form_data(response) -> dict[str, object]:
    """What the browser would post back: the change form's fields and its inlines, as shown."""
    data: dict[str, object] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        forms.extend(inline.formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value not in (None, False):
                data[form.add_prefix(name)] = [str(v) for v in value] if isinstance(value, list) else value
    return data


def test_unticking_active_on_the_users_page_ends_their_sessions(admin_client, make_user):
    ada = make_user(email="ada@example.com")
    laptop, phone = browser_of(ada), browser_of(ada)
    url = reverse("admin:accounts_user_change", args=[ada.pk])
    data = change_form_data(admin_client.get(url))
    del data["is_active"]

    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert "Deactivated ada@example.com: 2 sessions ended." in messages
    assert not BrowserSession.objects.filter(user=ada).exists()
    reactivate(ada)
    assert not is_signed_in(laptop) and not is_signed_in(phone)


def test_saving_the_users_page_without_unticking_active_ends_nothing(admin_client, make_user):
    ada = make_user()
    laptop = browser_of(ada)
    url = reverse("admin:accounts_user_change", args=[ada.pk])
    data = change_form_data(admin_client.get(url))
    data["full_name"] = "Ada Renamed"

    admin_client.post(url, data)

    assert User.objects.get(pk=ada.pk).full_name == "Ada Renamed"
    assert is_signed_in(laptop)


def test_the_bulk_action_deactivates_the_selected_users_and_ends_their_sessions(
    admin_client, superuser, make_user
):
    ada, grace, kept = make_user(), make_user(), make_user()
    ada_browser, grace_browser, kept_browser = browser_of(ada), browser_of(grace), browser_of(kept)
    user_deactivate(user=grace)
    grace_browser = browser_of(grace)  # a session left over from before (inactive users cannot sign in)

    response = admin_client.post(
        CHANGELIST,
        {"action": "deactivate_users", "_selected_action": [str(ada.pk), str(grace.pk), str(superuser.pk)]},
        follow=True,
    )

    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert "Deactivated 1 user (1 already inactive); 2 sessions ended." in messages
    assert "Your own account was left active: ask another administrator." in messages
    assert User.objects.get(pk=superuser.pk).is_active
    assert not User.objects.get(pk=ada.pk).is_active
    for user in (ada, grace):
        reactivate(user)
    assert (is_signed_in(ada_browser), is_signed_in(grace_browser), is_signed_in(kept_browser)) == (
        False,
        False,
        True,
    )


def test_staff_who_may_only_view_users_get_no_deactivate_action(make_user):
    viewer = make_user(is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_user"))

    page = browser_of(viewer).get(CHANGELIST).content.decode()

    assert "deactivate_users" not in page


# --- the command ------------------------------------------------------------------------------------


def run_command(*args: str) -> tuple[int, str, str]:
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("deactivate_user", *args, stdout=stdout, stderr=stderr)
    except CommandError as exc:
        return exc.returncode, stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


def test_the_command_deactivates_users_by_any_identifier_and_says_what_it_did(make_user):
    ada = make_user(email="ada@example.com", username="ada")
    grace = make_user(sub="grace-sub")
    for user in (ada, ada, grace):
        browser_of(user)

    status, out, err = run_command("ada@example.com", "grace-sub")

    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "ada@example.com  deactivated  2 sessions ended",
        "grace-sub  deactivated  1 session ended",
    ]
    assert not User.objects.filter(is_active=True, pk__in=[ada.pk, grace.pk]).exists()
    assert not BrowserSession.objects.exists()


def test_the_command_names_unknown_users_processes_the_others_and_exits_1(make_user):
    ada = make_user(username="ada")
    user_deactivate(user=ada)

    status, out, err = run_command("nobody@example.com", str(ada.pk), "--format", "json")

    assert status == 1
    assert "unknown user: nobody@example.com" in err
    assert [json.loads(line) for line in out.splitlines()] == [
        {"identifier": str(ada.pk), "user_id": str(ada.pk), "status": "already_inactive", "sessions_ended": 0}
    ]
