import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.blueprints import blueprint_as_input, blueprint_create_version
from onboarding.models import OnboardingRun, OnboardingStatus, UserOnboarding
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_after_sign_in, onboard_user
from onboarding.steps import STEP_NAMES
from onboarding.tests.faults import replace_onboarding_step

pytestmark = pytest.mark.django_db

SAMPLE_NAMES = ["Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"]


def resource_counts(user) -> dict[str, int]:
    return {
        "spaces": Space.objects.filter(owner=user).count(),
        "memberships": Membership.objects.filter(user=user).count(),
        "notebooks": Notebook.objects.filter(owner=user).count(),
        "documents": Document.objects.filter(notebook__owner=user).count(),
        "agents": Agent.objects.filter(owner=user).count(),
    }


ONE_OF_EACH = {"spaces": 1, "memberships": 1, "notebooks": 1, "documents": 3, "agents": 1}
NOTHING = {"spaces": 0, "memberships": 0, "notebooks": 0, "documents": 0, "agents": 0}


def test_first_run_creates_exactly_what_the_blueprint_lists(user):
    run = onboard_user(user=user, trigger=OnboardingRun.Trigger.LOGIN)

    assert resource_counts(user) == ONE_OF_EACH
    space = Space.objects.get(owner=user)
    assert (space.name, space.type) == ("Ada Lovelace's Personal Space", "personal")
    assert Membership.objects.get(user=user).role == "owner"
    notebook = Notebook.objects.get(owner=user)
    assert notebook.name == "Getting Started"
    assert notebook.space == space
    assert notebook.description.startswith("Welcome to Aether! This is your first notebook")
    assert notebook.tags == ["welcome", "getting-started", "onboarding"]
    assert notebook.visibility == "private"
    documents = list(notebook.documents.order_by("metadata__order"))
    assert [d.name for d in documents] == SAMPLE_NAMES
    assert [d.metadata for d in documents] == [
        {"source": "onboarding", "is_sample": True, "order": n} for n in (1, 2, 3)
    ]
    assert documents[0].content.splitlines()[0] == "Welcome to Aether, your knowledge workspace."
    assert [len(d.content.splitlines()) for d in documents] == [39, 39, 58]
    assert all(d.size_bytes == len(d.content.encode()) and d.mime_type == "text/plain" for d in documents)
    agent = Agent.objects.get(owner=user)
    assert (agent.name, agent.type, agent.model, agent.temperature, agent.max_tokens) == (
        "Personal Assistant",
        "qa",
        "gpt-4",
        0.7,
        2000,
    )
    assert list(agent.knowledge_notebooks.all()) == [notebook]
    assert agent.tags == ["default", "personal-assistant", "onboarding"]

    state = UserOnboarding.objects.get(user=user)
    assert state.status == OnboardingStatus.COMPLETED
    assert (state.space, state.notebook, state.agent) == (space, notebook, agent)
    assert state.blueprint_version == blueprint_current().version
    assert state.attempts == 1
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.created == {"personal_space": 1, "notebook": 1, "documents": 3, "agent": 1}
    assert [(s.name, s.status) for s in run.steps.all()] == [(n, "succeeded") for n in STEP_NAMES]
    assert all(s.duration_ms is not None for s in run.steps.all())
    assert run.duration_ms is not None and run.finished_at >= run.started_at


def test_running_again_changes_nothing(user):
    onboard_user(user=user, trigger="login")
    before = {d.pk: d.updated_at for d in Document.objects.filter(notebook__owner=user)}

    skipped = onboard_user(user=user, trigger="login")
    forced = onboard_user(user=user, trigger="admin", force=True)

    assert skipped.status == "skipped"
    assert forced.status == "completed"
    assert forced.created == {"personal_space": 0, "notebook": 0, "documents": 0, "agent": 0}
    assert resource_counts(user) == ONE_OF_EACH
    assert {d.pk: d.updated_at for d in Document.objects.filter(notebook__owner=user)} == before


def test_forced_run_restores_only_the_deleted_sample_document(user):
    onboard_user(user=user, trigger="login")
    notebook = Notebook.objects.get(owner=user)
    Document.objects.filter(notebook=notebook, name="Quick Start Guide.txt").delete()
    kept = set(Document.objects.filter(notebook=notebook).values_list("pk", flat=True))

    run = onboard_user(user=user, trigger="admin", force=True)

    assert run.created == {"personal_space": 0, "notebook": 0, "documents": 1, "agent": 0}
    documents = Document.objects.filter(notebook=notebook)
    assert sorted(d.name for d in documents) == sorted(SAMPLE_NAMES)
    assert kept < set(documents.values_list("pk", flat=True))


def test_renamed_resources_are_recognised_and_left_as_the_user_made_them(user):
    onboard_user(user=user, trigger="login")
    Notebook.objects.filter(owner=user).update(name="My notes", description="Mine now")
    Document.objects.filter(notebook__owner=user, name="Sample FAQ.txt").update(
        name="FAQ (edited).txt", content="my own words"
    )
    Agent.objects.filter(owner=user).update(name="Helper", temperature=0.1)

    onboard_user(user=user, trigger="admin", force=True)

    assert resource_counts(user) == ONE_OF_EACH
    assert Notebook.objects.get(owner=user).name == "My notes"
    assert Document.objects.get(notebook__owner=user, name="FAQ (edited).txt").content == "my own words"
    assert Agent.objects.get(owner=user).temperature == 0.1


@pytest.mark.parametrize("step_name", STEP_NAMES)
def test_failure_in_a_step_rolls_back_the_run_and_a_later_run_succeeds(
    user, fail_step, monkeypatch, step_name
):
    fail_step(step_name)

    run = onboard_user(user=user, trigger="login")

    assert resource_counts(user) == NOTHING
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.failed_step == step_name
    assert run.error == f"RuntimeError: injected failure in {step_name}"
    statuses = {s.name: s.status for s in run.steps.all()}
    position = STEP_NAMES.index(step_name)
    assert statuses[step_name] == "failed"
    assert all(statuses[name] == "rolled_back" for name in STEP_NAMES[:position])
    assert all(statuses[name] == "not_run" for name in STEP_NAMES[position + 1 :])
    state = UserOnboarding.objects.get(user=user)
    assert state.status == "failed"
    assert state.last_error == f"{step_name}: RuntimeError: injected failure in {step_name}"

    monkeypatch.undo()  # the fault is gone
    retried = onboard_user(user=user, trigger="retry")

    assert retried.status == "completed"
    assert resource_counts(user) == ONE_OF_EACH
    assert UserOnboarding.objects.get(user=user).attempts == 2


def test_run_slower_than_the_timeout_fails_and_keeps_nothing(user, settings, monkeypatch):
    settings.ONBOARDING_TIMEOUT_SECONDS = 1

    def slow_documents(real, ctx):  # a step that is slow, as an overloaded database would make it
        created = real(ctx)
        time.sleep(1.1)
        return created

    replace_onboarding_step(monkeypatch, "documents", slow_documents)

    run = onboard_user(user=user, trigger="login")

    assert run.status == "failed"
    assert run.failed_step == "documents"
    assert "timed out after 1 s" in run.error
    assert run.timed_out
    assert resource_counts(user) == NOTHING
    assert UserOnboarding.objects.get(user=user).status == "failed"


@pytest.mark.postgres
def test_a_statement_outlasting_the_timeout_is_cancelled_by_the_database(user, settings, monkeypatch):
    settings.ONBOARDING_TIMEOUT_SECONDS = 1

    def agent_behind_a_slow_query(real, ctx):
        created = real(ctx)
        with connection.cursor() as cursor:
            # Long, so that the bound below tells a cancelled statement from a finished one however
            # loaded the machine is.
            cursor.execute("SELECT pg_sleep(30)")
        return created

    replace_onboarding_step(monkeypatch, "agent", agent_behind_a_slow_query)
    started = time.monotonic()

    run = onboard_user(user=user, trigger="login")

    assert time.monotonic() - started < 15
    assert (run.status, run.failed_step) == ("failed", "agent")
    assert "timed out after 1 s" in run.error
    assert resource_counts(user) == NOTHING


def test_a_missing_blueprint_is_a_recorded_failure(user):
    from onboarding.models import Blueprint

    Blueprint.objects.all().delete()

    run = onboard_user(user=user, trigger="login")

    assert (run.status, run.error) == ("failed", "No onboarding blueprint is configured.")
    assert UserOnboarding.objects.get(user=user).status == "failed"


def _blueprint_with_documents(count: int) -> None:
    fields, _ = blueprint_as_input(blueprint_current())
    documents = [
        {"name": f"Sample {n}.txt", "content": f"Sample {n}\n", "order": n} for n in range(1, count + 1)
    ]
    blueprint_create_version(fields=fields, documents=documents)


def _statements_of_first_run(make_user) -> list[str]:
    user = make_user()
    with CaptureQueriesContext(connection) as queries:
        run = onboard_user(user=user, trigger="login")
    assert run.status == "completed"
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_first_run_sends_the_same_fifteen_statements_whatever_the_number_of_documents(make_user):
    """Outside any transaction, as a sign-in runs it: the run's record, then one transaction for its
    work, with no lookup before an insert."""
    counts = {}
    for documents in (3, 30):
        _blueprint_with_documents(documents)
        _statements_of_first_run(make_user)  # the first run after a publication reads the samples once
        statements = _statements_of_first_run(make_user)
        counts[documents] = len(statements)
        assert statements[0].startswith('INSERT INTO "onboarding_onboardingrun"')
        assert (statements[1], statements[-1]) == ("BEGIN", "COMMIT")
        assert sum(sql.startswith("INSERT") for sql in statements) == 9
        # The run's own record, finished; nothing else is read before it is written.
        updated = [sql.split()[1] for sql in statements if sql.startswith("UPDATE")]
        assert updated == ['"onboarding_onboardingrun"']

    assert Document.objects.filter(onboarding_key__isnull=False).count() == 2 * 3 + 2 * 30
    assert counts == {3: 15, 30: 15}


@pytest.mark.postgres
def test_a_run_inside_a_callers_transaction_leaves_its_statement_timeout_as_it_was(user):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (before,) = cursor.fetchone()

        onboard_user(user=user, trigger="command")

        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == (before,)


def test_an_interrupted_run_is_recorded_as_failed_and_the_interrupt_goes_on(user, fail_step):
    fail_step("documents", KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        onboard_user(user=user, trigger="command")

    run = OnboardingRun.objects.get(user=user)
    assert (run.status, run.failed_step, run.error) == ("failed", "documents", "KeyboardInterrupt")
    assert resource_counts(user) == NOTHING


def test_a_published_version_reaches_the_very_next_run(make_user):
    # The first run reads the current version's samples and keeps them.
    assert onboard_user(user=make_user(), trigger="login").status == "completed"
    fields, documents = blueprint_as_input(blueprint_current())
    # Published the way the admin or the command would, in whichever process: nothing here is told.
    blueprint_create_version(
        fields={**fields, "notebook_name": "First Steps"},
        documents=[{**documents[0], "content": "New words.\n"}],
    )

    user = make_user()
    run = onboard_user(user=user, trigger="login")

    assert run.blueprint_version == blueprint_current().version
    assert Notebook.objects.get(owner=user).name == "First Steps"
    assert [d.content for d in Document.objects.filter(notebook__owner=user)] == ["New words.\n"]


def test_a_version_number_published_again_after_a_rollback_is_read_again(make_user):
    from django.db import transaction

    fields, documents = blueprint_as_input(blueprint_current())
    with transaction.atomic():
        blueprint_create_version(fields=fields, documents=[{**documents[0], "content": "Withdrawn.\n"}])
        assert onboard_user(user=make_user(), trigger="login").status == "completed"
        transaction.set_rollback(True)
    blueprint_create_version(fields=fields, documents=[{**documents[0], "content": "Published.\n"}])

    user = make_user()
    onboard_user(user=user, trigger="login")

    assert [d.content for d in Document.objects.filter(notebook__owner=user)] == ["Published.\n"]


def test_a_sign_in_run_leaves_no_stale_onboarding_state_on_the_user(user, fail_step, monkeypatch):
    fail_step("agent")
    onboard_user(user=user, trigger="login")
    monkeypatch.undo()  # the agent step works again
    # As sign-in reads the user: with the onboarding state, which says "failed".
    signed_in = User.objects.select_related("onboarding").get(pk=user.pk)
    assert signed_in.onboarding.status == OnboardingStatus.FAILED

    run = onboard_after_sign_in(user=signed_in, via="browser")

    assert run.status == OnboardingRun.Status.COMPLETED
    assert signed_in.onboarding.status == OnboardingStatus.COMPLETED


def test_a_completed_user_signing_in_is_answered_from_the_state_read_with_them(user):
    onboard_user(user=user, trigger="login")
    signed_in = User.objects.select_related("onboarding").get(pk=user.pk)

    with CaptureQueriesContext(connection) as queries:
        assert onboard_after_sign_in(user=signed_in, via="bearer") is None

    assert len(queries) == 0
