"""The dashboard's onboarding panel: news of a completed set-up for a few days, in the personal space,
until dismissed; a failure in plain words with what to do, never an error's text."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization
from onboarding.models import UserOnboarding
from onboarding.panel import COMPLETED_NOTICE_DAYS
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db

READY = "Your workspace is ready"


def dashboard(client, space=None) -> str:
    return client.get(f"/spaces/{space.pk}/" if space else "/").content.decode()


def test_a_completed_set_up_is_mentioned_in_the_personal_space_only(client, ada, make_user):
    acme = space_create_organization(owner=make_user(), name="Acme")
    membership_add(space=acme, user=ada, role=Membership.Role.MEMBER)
    client.force_login(ada)

    assert READY in dashboard(client, personal_space_of(ada))
    assert READY not in dashboard(client, acme)


def test_a_completed_set_up_is_mentioned_for_the_first_days_only(client, ada):
    client.force_login(ada)
    state = UserOnboarding.objects.get(user=ada)

    state.completed_at = timezone.now() - timedelta(days=COMPLETED_NOTICE_DAYS - 1)
    state.save(update_fields=["completed_at"])
    assert READY in dashboard(client)

    state.completed_at = timezone.now() - timedelta(days=COMPLETED_NOTICE_DAYS)
    state.save(update_fields=["completed_at"])
    page = dashboard(client)
    assert READY not in page
    assert 'class="panel onboarding' not in page
    assert "Getting Started" in page


def test_dismissing_the_note_hides_it_for_good(client, ada):
    client.force_login(ada)
    assert 'action="/onboarding/dismiss/"' in dashboard(client)

    response = client.post("/onboarding/dismiss/", follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert READY not in response.content.decode()
    assert UserOnboarding.objects.get(user=ada).notice_dismissed_at is not None
    onboard_user(user=ada, trigger="admin", force=True)  # a later re-run does not bring it back
    assert READY not in dashboard(client)


def test_dismissing_needs_a_post(client, ada):
    client.force_login(ada)

    assert client.get("/onboarding/dismiss/").status_code == 405
    assert UserOnboarding.objects.get(user=ada).notice_dismissed_at is None


def test_a_failure_says_what_is_missing_and_what_to_do_without_the_error(client, user, fail_step):
    fail_step("agent", RuntimeError("IntegrityError: duplicate key value violates unique constraint"))
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = dashboard(client)

    assert "Setting up your workspace did not finish" in page
    assert "We could not set up your “Personal Assistant” agent." in page
    assert "Nothing from that attempt was kept. “Try again” creates only what is missing." in page
    assert "IntegrityError" not in page and "duplicate key" not in page
    assert "ask your administrator" not in page  # one failure: trying again is the whole advice


def test_repeated_failures_add_who_else_can_help(client, user, fail_step):
    fail_step("documents")
    onboard_user(user=user, trigger="login")
    onboard_user(user=user, trigger="retry", actor=user, force=True)
    client.force_login(user)

    page = dashboard(client)

    assert "It has not worked 2 times now." in page
    assert "ask your administrator: they can see what went wrong and set up your workspace for you." in page
    assert "Try again</button>" in page


def test_a_failure_is_shown_in_every_space(client, user, fail_step, make_user):
    fail_step("personal_space")
    onboard_user(user=user, trigger="login")
    acme = space_create_organization(owner=make_user(), name="Acme")
    membership_add(space=acme, user=user, role=Membership.Role.MEMBER)
    client.force_login(user)

    page = dashboard(client, acme)

    assert "We could not create your personal space." in page
    assert "Try again</button>" in page
