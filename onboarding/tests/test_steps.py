"""Each onboarding step is one definition: the run, the dry-run plan and the pages all read it."""

import pytest

from notebooks.models import Agent, Document, Notebook
from onboarding import steps
from onboarding.models import OnboardingRun
from onboarding.panel import failure_sentence, onboarding_panel_of
from onboarding.selectors import blueprint_current, onboarding_plan
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_a_plan_names_exactly_what_the_run_then_creates(user):
    onboard_user(user=user, trigger="login")
    Document.objects.filter(notebook__owner=user, name="Quick Start Guide.txt").delete()
    Agent.objects.filter(owner=user).delete()

    plan = onboarding_plan(user)
    run = onboard_user(user=user, trigger="admin", force=True)

    assert plan.as_dict() == {
        "personal_space": [],
        "notebook": [],
        "documents": ["Quick Start Guide.txt"],
        "agent": ["Personal Assistant"],
    }
    assert run.created == {name: len(names) for name, names in plan.as_dict().items()}
    assert onboarding_plan(user).is_empty


def test_a_plan_for_a_new_user_names_everything_and_changes_nothing(user):
    plan = onboarding_plan(user)

    assert plan.as_dict() == {
        "personal_space": ["Ada Lovelace's Personal Space"],
        "notebook": ["Getting Started"],
        "documents": ["Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"],
        "agent": ["Personal Assistant"],
    }
    assert not Notebook.objects.filter(owner=user).exists()
    assert not OnboardingRun.objects.filter(user=user).exists()


def release_notes(workspace: steps.Workspace) -> steps.Missing:
    """A step as someone adding one would write it: a document of its own in the onboarding notebook."""
    if "release-notes" in workspace.document_keys:
        return steps.Missing()
    notes = Document(
        notebook_id=workspace.notebook_id,
        name="Release Notes.txt",
        content="What is new.",
        size_bytes=12,
        onboarding_key="release-notes",
    )
    workspace.document_keys |= {"release-notes"}
    return steps.Missing(names=[notes.name], rows=[notes])


@pytest.fixture
def with_release_notes_step(monkeypatch):
    step = steps.Step("release_notes", "Release notes", "We could not add the release notes.", release_notes)
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, step))
    return step


def test_a_new_step_is_one_definition_that_runs_plans_and_is_recorded(user, with_release_notes_step):
    assert onboarding_plan(user).as_dict()["release_notes"] == ["Release Notes.txt"]

    run = onboard_user(user=user, trigger="login")

    assert run.created["release_notes"] == 1
    assert Document.objects.get(notebook__owner=user, onboarding_key="release-notes").name == (
        "Release Notes.txt"
    )
    recorded = {step.name: (step.status, step.get_name_display()) for step in run.steps.all()}
    assert recorded["release_notes"] == ("succeeded", "Release notes")
    assert onboard_user(user=user, trigger="admin", force=True).created["release_notes"] == 0


def test_a_new_step_that_fails_is_named_to_the_user_in_its_own_words(
    user, with_release_notes_step, fail_step
):
    fail_step("release_notes")

    run = onboard_user(user=user, trigger="login")

    assert (run.status, run.failed_step) == ("failed", "release_notes")
    assert failure_sentence(run) == "We could not add the release notes."
    panel = onboarding_panel_of(user)
    assert (panel.failed_step, panel.sentence) == ("release_notes", "We could not add the release notes.")
    assert not Notebook.objects.filter(owner=user).exists()


def test_every_step_has_a_name_label_and_sentence():
    assert steps.STEP_NAMES == ("personal_space", "notebook", "documents", "agent")
    for step in steps.STEPS:
        assert step.label and step.failure_sentence.endswith(".")
        assert steps.step_named(step.name) is step
    assert steps.step_named("no_such_step") is None


def test_a_plan_uses_the_blueprint_it_is_given(user):
    from onboarding.blueprints import blueprint_as_input, blueprint_create_version

    fields, documents = blueprint_as_input(blueprint_current())
    older = blueprint_current()
    blueprint_create_version(fields={**fields, "agent_name": "Research Helper"}, documents=documents)

    assert onboarding_plan(user).as_dict()["agent"] == ["Research Helper"]
    assert onboarding_plan(user, older).as_dict()["agent"] == ["Personal Assistant"]
