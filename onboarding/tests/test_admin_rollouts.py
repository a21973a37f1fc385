"""Roll-outs in the admin as onboarding managers use them: preview, start, progress and the buttons."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from onboarding.models import Blueprint, Rollout
from onboarding.rollouts import rollout_start
from onboarding.tests.rollout_fixtures import publish_version_2

pytestmark = pytest.mark.django_db


def test_the_current_versions_page_previews_the_roll_out_and_starts_it(on_version_1, manager_client, queue):
    current = publish_version_2()
    page = manager_client.get(reverse("admin:onboarding_blueprint_change", args=[current.pk]))

    html = page.content.decode()
    assert "It would reach <strong>3</strong> users on version 1." in html
    assert "<tr><td>Documents added</td><td>3</td><td>3</td>" in html
    assert (
        "<tr><td>Deleted by the user: stays deleted</td><td>1</td><td>1</td><td>deleted@example.com</td>"
        in html
    )
    assert 'value="Start the roll-out"' in html

    started = manager_client.post(reverse("admin:onboarding_rollout_start"), follow=True)

    rollout = Rollout.objects.get()
    assert started.redirect_chain == [(reverse("admin:onboarding_rollout_change", args=[rollout.pk]), 302)]
    assert "Started rolling version 2 out to 3 users" in started.content.decode()
    assert 'data-progress-url="/admin/onboarding/rollout/' in started.content.decode()
    assert rollout.started_by.email == "manager@example.com"
    again = manager_client.get(
        reverse("admin:onboarding_blueprint_change", args=[current.pk])
    ).content.decode()
    assert f"Roll-out #{rollout.pk}</a> of version 2 is running: only one roll-out runs at a time." in again
    assert "Start the roll-out" not in again


def test_an_older_versions_page_has_no_preview(on_version_1, manager_client):
    publish_version_2()
    first = Blueprint.objects.get(version=1)

    page = manager_client.get(reverse("admin:onboarding_blueprint_change", args=[first.pk]))

    assert "Roll this version out" not in page.content.decode()


def test_progress_and_the_buttons(on_version_1, manager_client, queue):
    publish_version_2()
    manager_client.post(reverse("admin:onboarding_rollout_start"))
    rollout = Rollout.objects.get()
    action = lambda name: reverse("admin:onboarding_rollout_action", args=[rollout.pk, name])  # noqa: E731

    paused = manager_client.post(action("pause"), follow=True).content.decode()
    assert f"Roll-out {rollout.pk} paused." in paused
    assert ">Resume</button>" in paused
    queue.work()
    progress = manager_client.get(reverse("admin:onboarding_rollout_progress", args=[rollout.pk])).json()
    assert {k: progress[k] for k in ("status", "done", "remaining", "total")} == {
        "status": "paused",
        "done": 0,
        "remaining": 3,
        "total": 3,
    }

    manager_client.post(action("resume"))
    queue.work()
    progress = manager_client.get(reverse("admin:onboarding_rollout_progress", args=[rollout.pk])).json()
    assert (progress["status"], progress["done"], progress["percent"]) == ("completed", 3, 100)

    refused = manager_client.post(action("cancel"), follow=True).content.decode()
    assert (
        f"Roll-out {rollout.pk} is completed; only a running or paused roll-out can be cancelled." in refused
    )
    listing = manager_client.get(reverse("admin:onboarding_rollout_changelist")).content.decode()
    assert "3 / 0 / 0 / 0" in listing


def test_staff_without_the_blueprint_permissions_cannot_see_or_start_roll_outs(on_version_1, make_user):
    publish_version_2()
    support = make_user(is_staff=True)
    client = Client()
    client.force_login(support)

    assert client.post(reverse("admin:onboarding_rollout_start")).status_code == 403
    assert client.get(reverse("admin:onboarding_rollout_changelist")).status_code == 403
    assert not Rollout.objects.exists()


def test_a_manager_who_may_only_read_blueprints_sees_no_buttons(on_version_1, make_user, queue):
    publish_version_2()
    reader = make_user(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_blueprint"))
    rollout = rollout_start(actor=None)
    client = Client()
    client.force_login(reader)

    page = client.get(reverse("admin:onboarding_rollout_change", args=[rollout.pk])).content.decode()
    assert "data-progress-url" in page and ">Pause</button>" not in page
    assert (
        client.post(reverse("admin:onboarding_rollout_action", args=[rollout.pk, "pause"])).status_code == 403
    )
