"""What an onboarding manager (staff from a staff role, not a superuser) can and cannot do in the admin."""

import html
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from accounts.models import User
from notebooks.models import Document
from onboarding.models import OnboardingRun
from onboarding.permissions import ONBOARDING_MANAGERS
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(onboarding_manager) -> User:
    return onboarding_manager


@pytest.fixture
def client(manager_client) -> Client:
    return manager_client


def user_page(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def rerun_url(user: User) -> str:
    return reverse("admin:accounts_user_rerun_onboarding", args=[user.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_admin_index_offers_onboarding_management_and_nothing_else(client):
    page = text(client.get(reverse("admin:index")))

    for model in ("Users", "Spaces", "Memberships", "Notebooks", "Documents", "Agents", "Blueprints"):
        assert f">{model}</a>" in page, model
    assert ">Onboarding runs</a>" in page
    assert "Groups" not in page
    assert "Aether administration" in page


def test_groups_and_permissions_are_out_of_reach(client, manager):
    group = Group.objects.get(name=ONBOARDING_MANAGERS)

    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 403
    assert client.post(reverse("admin:auth_group_add"), {"name": "Mine"}).status_code == 403
    # Permissions have no admin page at all.
    assert client.get("/admin/auth/permission/").status_code == 404
    assert not Group.objects.filter(name="Mine").exists()
    assert set(manager.groups.values_list("name", flat=True)) == {ONBOARDING_MANAGERS}


def test_a_user_page_is_read_only_with_no_way_to_raise_rights_or_delete(client, make_user):
    someone = make_user(email="someone@example.com")

    page = client.get(user_page(someone)).content.decode()
    posted = client.post(user_page(someone), {"username": someone.username, "is_superuser": "on"})
    deleted = client.post(reverse("admin:accounts_user_delete", args=[someone.pk]), {"post": "yes"})
    password = client.get(reverse("admin:auth_user_password_change", args=[someone.pk]))
    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()

    assert "<h1>View user</h1>" in page
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page
    assert 'name="_save"' not in page
    assert (posted.status_code, deleted.status_code, password.status_code) == (403, 403, 403)
    assert 'value="delete_selected"' not in listing
    assert 'value="rerun_onboarding"' in listing
    someone.refresh_from_db()
    assert (someone.is_superuser, someone.is_staff) == (False, False)
    assert User.objects.filter(pk=someone.pk).exists()


def test_staff_allowed_to_change_users_still_cannot_hand_out_rights(make_user, manager):
    # Granted by hand on top of the group: changing users (names, say), still not their rights.
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    client = Client()
    client.force_login(manager)
    someone = make_user(email="someone@example.com")
    group = Group.objects.get(name=ONBOARDING_MANAGERS)

    page = client.get(user_page(someone)).content.decode()
    response = client.post(
        user_page(someone),
        {
            "username": someone.username,
            "email": someone.email,
            "full_name": "Renamed",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [str(group.pk)],
            "user_permissions": [str(Permission.objects.get(codename="delete_user").pk)],
            "onboarding_runs-TOTAL_FORMS": "0",
            "onboarding_runs-INITIAL_FORMS": "0",
        },
    )
    myself = client.post(user_page(manager), {"username": manager.username, "is_superuser": "on"})

    for name in ("is_staff", "is_superuser", "groups", "user_permissions"):
        assert f'name="{name}"' not in page, name
    assert response.status_code == 302, response.content.decode()[:3000]
    someone.refresh_from_db()
    assert someone.full_name == "Renamed"
    assert (someone.is_staff, someone.is_superuser) == (False, False)
    assert not someone.groups.exists() and not someone.user_permissions.exists()
    assert myself.status_code in (200, 302)
    manager.refresh_from_db()
    assert manager.is_superuser is False


def test_the_user_page_has_a_rerun_button_that_creates_what_is_missing(client, manager, ada):
    Document.objects.filter(notebook__owner=ada, name="Sample FAQ.txt").delete()

    page = client.get(user_page(ada)).content.decode()
    response = client.post(rerun_url(ada), follow=True)

    assert re.search(rf'<form method="post" action="{rerun_url(ada)}"[^>]*>.*?Re-run onboarding', page, re.S)
    assert response.redirect_chain == [(user_page(ada), 302)]
    assert "Re-ran onboarding for ada@example.com: completed; created 1 document." in text(response)
    run = OnboardingRun.objects.filter(user=ada).latest("started_at")
    assert (run.trigger, run.actor, run.forced, run.status) == ("admin", manager, True, "completed")
    assert Document.objects.filter(notebook__owner=ada).count() == 3


def test_a_failed_rerun_from_the_user_page_says_where_and_links_to_the_run(client, ada, fail_step):
    fail_step("agent")  # failure injection: the agent step raises

    response = client.post(rerun_url(ada), follow=True)

    page = text(response)
    run = OnboardingRun.objects.filter(user=ada).latest("started_at")
    assert "Re-ran onboarding for ada@example.com: it failed at the agent step: RuntimeError" in page
    assert reverse("admin:onboarding_onboardingrun_change", args=[run.pk]) in page


def test_the_rerun_button_refuses_anything_but_a_post_with_its_token(manager, ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    before = OnboardingRun.objects.count()

    assert client.get(rerun_url(ada)).status_code == 405
    assert client.post(rerun_url(ada)).status_code == 403
    assert OnboardingRun.objects.count() == before


@pytest.mark.parametrize(
    "object_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "1" * 300]
)
def test_rerunning_a_user_who_does_not_exist_says_so(client, object_id):
    response = client.post(f"/admin/accounts/user/{object_id}/rerun-onboarding/", follow=True)

    assert response.status_code == 200
    assert "exist. Perhaps it was deleted?" in text(response)
    assert not OnboardingRun.objects.exists()


def test_staff_without_the_rerun_permission_get_neither_button_nor_action(make_user, ada):
    viewer = make_user(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "view_onboardingrun"]))
    client = Client()
    client.force_login(viewer)
    before = OnboardingRun.objects.count()

    page = client.get(user_page(ada)).content.decode()
    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()

    assert "Re-run onboarding" not in page and "rerun_onboarding" not in listing
    assert client.post(rerun_url(ada)).status_code == 403
    assert OnboardingRun.objects.count() == before


def test_the_runs_are_readable_with_what_they_created_in_words(client, ada):
    run = OnboardingRun.objects.get(user=ada)

    listing = text(client.get(reverse("admin:onboarding_onboardingrun_changelist")))
    page = text(client.get(reverse("admin:onboarding_onboardingrun_change", args=[run.pk])))

    assert "ada@example.com" in listing
    assert "1 personal space, 1 notebook, 3 documents, 1 agent" in page
    assert '{"personal_space"' not in page
    assert "Personal space" in page and "Succeeded" in page


def test_a_user_with_one_run_links_to_the_1_run(client, ada):
    page = text(client.get(user_page(ada)))

    assert "See the 1 run" in page
    onboard_user(user=ada, trigger="retry", force=True)
    assert "See all 2 runs" in text(client.get(user_page(ada)))
