"""Staff see who is not onboarded and fix it from the user admin."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from notebooks.models import Document
from onboarding.models import OnboardingRun, OnboardingStatus, UserOnboarding
from onboarding.services import onboard_user
from onboarding.tests.faults import replace_onboarding_step

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def staff(onboarding_manager):
    """A staff member in "Onboarding managers", as sign-in makes a holder of a staff role; not a superuser."""
    return onboarding_manager


@pytest.fixture
def staff_client(manager_client) -> Client:
    return manager_client


@pytest.fixture
def root_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(email="root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def people(make_user, monkeypatch):
    """One user of each status: completed, failed, not started."""
    done = make_user(email="done@example.com")
    onboard_user(user=done, trigger="login")
    broken = make_user(email="broken@example.com")
    with monkeypatch.context() as patch:
        # Failure injection, undone at the end of the block: the run fails in its documents step.
        def failing(real, ctx):
            real(ctx)
            raise RuntimeError("storage unavailable")

        replace_onboarding_step(patch, "documents", failing)
        onboard_user(user=broken, trigger="login")
    fresh = make_user(email="fresh@example.com")
    return {"completed": done, "failed": broken, "not_started": fresh}


def listed_emails(response) -> set[str]:
    return set(re.findall(r'<th class="field-email"><a href="[^"]+">([^<]+)</a>', response.content.decode()))


def rerun(client: Client, *users) -> object:
    return client.post(
        CHANGELIST,
        {"action": "rerun_onboarding", "_selected_action": [str(u.pk) for u in users]},
        follow=True,
    )


def test_the_changelist_shows_and_filters_by_onboarding_status(staff_client, people):
    assert UserOnboarding.objects.get(user=people["failed"]).status == OnboardingStatus.FAILED

    everyone = staff_client.get(CHANGELIST)
    failed = staff_client.get(CHANGELIST, {"onboarding_status": "failed"})
    not_started = staff_client.get(CHANGELIST, {"onboarding_status": "not_started"})
    completed = staff_client.get(CHANGELIST, {"onboarding_status": "completed"})

    assert everyone.status_code == 200
    page = everyone.content.decode()
    assert 'class="onboarding-status onboarding-status-bad">Failed</span>' in page
    assert listed_emails(failed) == {"broken@example.com"}
    # Users without a state row have not started, like the staff member here.
    assert listed_emails(not_started) == {"fresh@example.com", "manager@example.com"}
    assert listed_emails(completed) == {"done@example.com"}


def test_the_changelist_header_counts_users_by_status(staff_client, people):
    page = staff_client.get(CHANGELIST).content.decode()

    counts = dict(
        (label, int(count))
        for count, label in re.findall(
            r'<strong>(\d+)</strong> <span class="onboarding-status[^"]*">([^<]+)</span>', page
        )
    )
    assert counts == {"Not started": 2, "Running": 0, "Completed": 1, "Failed": 1}


def test_search_finds_users_by_email_sub_and_username(staff_client, people):
    user = people["failed"]
    for term in (user.email, user.sub, user.username):
        assert listed_emails(staff_client.get(CHANGELIST, {"q": term})) == {user.email}


def test_rerun_restores_only_the_deleted_sample_document(staff_client, staff, people):
    user = people["completed"]
    documents = Document.objects.filter(notebook__owner=user)
    kept = set(documents.exclude(name="Sample FAQ.txt").values_list("pk", flat=True))
    documents.get(name="Sample FAQ.txt").delete()

    response = rerun(staff_client, user)

    assert response.status_code == 200
    assert "Re-ran onboarding for 1 user: 1 succeeded, 0 failed." in response.content.decode()
    assert documents.count() == 3
    assert kept < set(documents.values_list("pk", flat=True))
    run = OnboardingRun.objects.filter(user=user).latest("started_at")
    assert (run.trigger, run.actor, run.forced, run.status) == ("admin", staff, True, "completed")
    assert run.created == {"personal_space": 0, "notebook": 0, "documents": 1, "agent": 0}


def test_rerun_completes_a_failed_onboarding_and_counts_both(staff_client, people):
    response = rerun(staff_client, people["failed"], people["not_started"])

    assert "Re-ran onboarding for 2 users: 2 succeeded, 0 failed." in response.content.decode()
    for user in (people["failed"], people["not_started"]):
        assert UserOnboarding.objects.get(user=user).status == OnboardingStatus.COMPLETED
        assert Document.objects.filter(notebook__owner=user).count() == 3


def test_the_message_counts_failures_and_links_to_the_failed_runs(staff_client, people, fail_step):
    fail_step("agent")  # failure injection: every run of this test fails in its agent step

    response = rerun(staff_client, people["failed"], people["not_started"])

    page = response.content.decode()
    assert "Re-ran onboarding for 2 users: 0 succeeded, 2 failed." in page
    link = re.search(r'href="([^"]*onboardingrun/\?status__exact=failed[^"]+)"', page).group(1)
    failed_runs = staff_client.get(link.replace("&amp;", "&"))
    assert failed_runs.status_code == 200
    rows = re.findall(
        r'<td class="field-user_link"><a href="[^"]+">([^<]+)</a></td>.*?'
        r'<td class="field-failed_step">([^<]*)</td>',
        failed_runs.content.decode(),
        flags=re.S,
    )
    assert sorted(rows) == [("broken@example.com", "agent"), ("fresh@example.com", "agent")]


def test_the_failed_runs_link_lists_only_this_actions_failures_however_many(
    staff_client, staff, people, make_user, fail_step
):
    users = [make_user() for _ in range(120)]
    fail_step("agent")  # failure injection: every run from here on fails in its agent step
    # Failed runs the link must leave out: an earlier one by the same staff member, and a sign-in.
    earlier = onboard_user(user=people["not_started"], trigger="admin", actor=staff, force=True)
    onboard_user(user=people["failed"], trigger="login")

    response = rerun(staff_client, *users)

    page = response.content.decode()
    assert "Re-ran onboarding for 120 users" not in page  # over the limit: refused
    response = rerun(staff_client, *users[:100])
    page = response.content.decode()
    assert "Re-ran onboarding for 100 users: 0 succeeded, 100 failed." in page
    link = re.search(r'href="([^"]*onboardingrun/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert len(link) < 300
    listed = staff_client.get(link)
    assert listed.status_code == 200
    assert "100 onboarding runs" in listed.content.decode()
    assert earlier.status == "failed"


def test_the_action_refuses_more_than_a_hundred_users_and_points_to_the_command(staff_client, make_user):
    users = [make_user() for _ in range(101)]

    response = rerun(staff_client, *users)

    page = response.content.decode()
    assert "101 users are selected; the admin re-runs onboarding for at most 100 at a time." in page
    assert "manage.py onboard_user" in page
    assert not OnboardingRun.objects.filter(trigger="admin").exists()


def test_anonymous_and_non_staff_users_cannot_run_the_action(make_user, people):
    runs_before = OnboardingRun.objects.count()
    anonymous = Client()
    member = make_user(email="member@example.com")
    signed_in = Client()
    signed_in.force_login(member)

    for client in (anonymous, signed_in):
        response = client.post(
            CHANGELIST, {"action": "rerun_onboarding", "_selected_action": [str(people["failed"].pk)]}
        )
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    assert OnboardingRun.objects.count() == runs_before


def test_the_action_needs_a_post_with_a_csrf_token(staff, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    runs_before = OnboardingRun.objects.count()
    selection = {"action": "rerun_onboarding", "_selected_action": [str(people["failed"].pk)]}

    as_get = client.get(CHANGELIST, selection)
    without_token = client.post(CHANGELIST, selection)

    assert as_get.status_code in (200, 302)
    assert without_token.status_code == 403
    assert OnboardingRun.objects.count() == runs_before

    page = client.get(CHANGELIST)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    with_token = client.post(CHANGELIST, {**selection, "csrfmiddlewaretoken": token})
    assert with_token.status_code == 302
    assert OnboardingRun.objects.count() == runs_before + 1


def test_a_staff_member_without_the_rerun_permission_is_not_offered_the_action(make_user, people):
    viewer = make_user(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_user"))
    client = Client()
    client.force_login(viewer)

    page = client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "rerun_onboarding", "_selected_action": [str(people["failed"].pk)]})

    assert "rerun_onboarding" not in page
    assert UserOnboarding.objects.get(user=people["failed"]).status == OnboardingStatus.FAILED


def test_the_user_page_lists_runs_newest_first_with_their_steps(staff_client, people):
    user = people["failed"]
    onboard_user(user=user, trigger="retry")

    page = staff_client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()

    assert page.index("Retry by the user") < page.index("Browser sign-in")
    assert "documents: RuntimeError: storage unavailable" in page
    assert "Rolled back" in page and "Not run" in page
    assert re.search(r"Documents <span[^>]*>Succeeded</span> \d+ ms, created 0", page) is None
    assert re.search(r"Documents <span[^>]*>Succeeded</span> \d+ ms, created 3", page)


def test_saving_the_user_form_keeps_the_runs_untouched(root_client, people):
    user = people["failed"]
    runs = list(OnboardingRun.objects.filter(user=user).order_by("-started_at"))
    data = {
        "username": user.username,
        "sub": user.sub,
        "email": user.email,
        "full_name": "Renamed Person",
        "is_active": "on",
        "onboarding_runs-TOTAL_FORMS": len(runs),
        "onboarding_runs-INITIAL_FORMS": len(runs),
        "onboarding_runs-MIN_NUM_FORMS": 0,
        "onboarding_runs-MAX_NUM_FORMS": 0,
    }
    for index, run in enumerate(runs):
        data[f"onboarding_runs-{index}-id"] = str(run.pk)
        data[f"onboarding_runs-{index}-user"] = str(user.pk)

    response = root_client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.full_name == "Renamed Person"
    assert list(OnboardingRun.objects.filter(user=user).order_by("-started_at")) == runs
    assert OnboardingRun.objects.get(pk=runs[0].pk).error == runs[0].error


def test_the_user_page_shows_the_newest_runs_and_links_to_all(staff_client, make_user):
    user = make_user()
    other = make_user()
    onboard_user(user=other, trigger="login")
    for _ in range(25):
        onboard_user(user=user, trigger="retry", force=True)

    page = staff_client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()

    assert page.count('<td class="field-run">') == 20
    link = re.search(r'<a href="([^"]+)">See all 25 runs</a>', page).group(1)
    all_runs = staff_client.get(link).content.decode()
    assert all_runs.count('<td class="field-user_link">') == 25
    assert other.email not in all_runs
