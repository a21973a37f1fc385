"""``manage.py onboard_user``: what an operator types and sees."""

import json
import re
import sys
import uuid
from io import StringIO

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding import bulk
from onboarding.management.commands import onboard_user as onboard_user_command
from onboarding.models import OnboardingRun, OnboardingStatus, OnboardingStep, UserOnboarding
from onboarding.services import onboard_user
from onboarding.tests.faults import replace_onboarding_step
from onboarding.tests.terminal import Terminal

pytestmark = pytest.mark.django_db

CREATED_ALL = {"personal_space": 1, "notebook": 1, "documents": 3, "agent": 1}


def run_command(*args: str) -> tuple[int, str, str]:
    """Run the command as the shell would; answer its exit status, stdout and stderr."""
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("onboard_user", *args, stdout=stdout, stderr=stderr)
    except CommandError as exc:
        stderr.write(f"CommandError: {exc}\n")
        return exc.returncode, stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


def row_counts() -> dict[str, int]:
    models = (Space, Membership, Notebook, Document, Agent, UserOnboarding, OnboardingRun, OnboardingStep)
    return {model.__name__: model.objects.count() for model in models}


def status_of(user: User) -> str:
    state = UserOnboarding.objects.filter(user=user).first()
    return state.status if state else OnboardingStatus.NOT_STARTED


@pytest.mark.parametrize("kind", ["email", "sub", "username", "id", "upper-case email"])
def test_a_user_named_by_each_kind_of_identifier_is_onboarded(make_user, kind):
    user = make_user(email="ada@example.com", username="ada")
    identifier = {
        "email": user.email,
        "sub": user.sub,
        "username": user.username,
        "id": str(user.pk),
        "upper-case email": "ADA@EXAMPLE.COM",
    }[kind]

    code, out, err = run_command(identifier)

    assert code == 0 and re.fullmatch(r"1 user in \d+\.\d s: 1 completed\.\n", err), err
    assert out.startswith(f"{identifier}  completed  ")
    assert "created personal_space=1, notebook=1, documents=3, agent=1" in out
    assert status_of(user) == OnboardingStatus.COMPLETED
    assert OnboardingRun.objects.get(user=user).trigger == "command"


def test_a_uuid_sub_is_found_as_a_sub(make_user):
    # Keycloak's subs are UUIDs: a UUID that is nobody's id must still find the user by sub.
    user = make_user(sub=str(uuid.uuid4()))

    code, _out, _err = run_command(user.sub)

    assert code == 0 and status_of(user) == OnboardingStatus.COMPLETED


def test_an_unknown_identifier_is_named_on_stderr_and_the_others_are_done(make_user):
    first, second = make_user(), make_user()

    code, out, err = run_command(first.email, "nobody@example.com", second.sub)

    assert code == 1
    assert "unknown user: nobody@example.com" in err
    assert "1 unknown" in err
    assert [line.split()[0] for line in out.splitlines()] == [first.email, second.sub]
    assert status_of(first) == status_of(second) == OnboardingStatus.COMPLETED


def test_an_email_shared_by_two_users_is_ambiguous(make_user):
    # A new sub with a known e-mail is a new user, so e-mails are not unique.
    first = make_user(email="shared@example.com")
    make_user(email="shared@example.com")

    code, out, err = run_command("shared@example.com", first.sub)

    assert code == 1
    assert "ambiguous user: shared@example.com is the e-mail of 2 users" in err
    assert [line.split()[0] for line in out.splitlines()] == [first.sub]


def test_a_failed_run_is_reported_and_exits_1(make_user, fail_step):
    user = make_user()
    fail_step("notebook")  # failure injection: the notebook step raises after doing its work

    code, out, err = run_command(user.email, "--format", "json")

    assert code == 1
    line = json.loads(out)
    assert (line["status"], line["failed_step"]) == ("failed", "notebook")
    assert line["error"] == "RuntimeError: injected failure in notebook"
    assert "1 failed" in err
    assert Notebook.objects.filter(owner=user).count() == 0


def test_dry_run_says_what_would_be_created_and_changes_nothing(make_user):
    fresh = make_user(email="fresh@example.com")
    partial = make_user(email="partial@example.com")
    onboard_user(user=partial, trigger="login")
    Document.objects.filter(notebook__owner=partial, name="Sample FAQ.txt").delete()
    before = row_counts()

    code, out, _err = run_command(fresh.email, partial.email, "--dry-run", "--force", "--format", "json")

    assert code == 0
    assert row_counts() == before
    fresh_line, partial_line = (json.loads(line) for line in out.splitlines())
    assert fresh_line["status"] == "dry_run"
    assert fresh_line["would_create"] == {
        "personal_space": ["Test User 1's Personal Space"],
        "notebook": ["Getting Started"],
        "documents": ["Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"],
        "agent": ["Personal Assistant"],
    }
    assert partial_line["would_create"] == {
        "personal_space": [],
        "notebook": [],
        "documents": ["Sample FAQ.txt"],
        "agent": [],
    }


def test_a_run_failing_before_its_lock_is_reported_and_the_next_user_still_done(make_user, monkeypatch):
    first, second = make_user(), make_user()
    real_take_turns = bulk.take_turns

    def database_lost_for_the_first_user(runs):
        # Failure injection: the connection drops whenever the first user's row is to be locked.
        if any(run.user_id == first.pk for run in runs):
            raise OperationalError("server closed the connection unexpectedly")
        return real_take_turns(runs)

    monkeypatch.setattr(bulk, "take_turns", database_lost_for_the_first_user)

    code, out, err = run_command(first.email, second.email)

    assert code == 1 and "1 failed" in err
    lines = out.splitlines()
    assert "failed: OperationalError: server closed the connection unexpectedly" in lines[0]
    assert lines[1].startswith(f"{second.email}  completed")


def test_dry_run_reads_the_blueprint_once_for_all_users():
    bulk_users(10, "planned")

    with CaptureQueriesContext(connection) as queries:
        code, out, _err = run_command("--all-incomplete", "--dry-run")

    assert code == 0 and len(out.splitlines()) == 10
    blueprint_reads = [q for q in queries.captured_queries if 'FROM "onboarding_blueprint"' in q["sql"]]
    assert len(blueprint_reads) == 1


def test_dry_run_without_force_skips_completed_users(make_user):
    user = make_user()
    onboard_user(user=user, trigger="login")
    before = row_counts()

    code, out, _err = run_command(user.email, "--dry-run")

    assert code == 0 and row_counts() == before
    assert "skipped" in out and "already completed" in out


def test_json_lines_are_valid_json_with_the_documented_keys(make_user):
    users = [make_user() for _ in range(3)]

    code, out, _err = run_command(*(u.email for u in users), "--format", "json")

    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["identifier"] for line in lines] == [u.email for u in users]
    for line, user in zip(lines, users, strict=True):
        assert {"identifier", "user_id", "status", "duration_ms", "created", "run_id"} <= set(line)
        assert line["user_id"] == str(user.pk)
        assert (line["status"], line["created"]) == ("completed", CREATED_ALL)
        assert isinstance(line["duration_ms"], int)


def test_a_named_completed_user_is_skipped_unless_forced(make_user):
    user = make_user()
    onboard_user(user=user, trigger="login")
    Document.objects.filter(notebook__owner=user, name="Sample FAQ.txt").delete()

    code, out, _err = run_command(user.email)
    assert code == 0
    assert out.startswith(f"{user.email}  skipped  ")
    assert "already completed" in out
    assert Document.objects.filter(notebook__owner=user).count() == 2

    code, out, _err = run_command(user.email, "--force")
    assert code == 0
    assert "created documents=1" in out
    assert Document.objects.filter(notebook__owner=user).count() == 3


def test_a_user_named_twice_is_onboarded_once(make_user):
    user = make_user()

    code, out, _err = run_command(user.email, user.sub, str(user.pk))

    assert code == 0
    assert len(out.splitlines()) == 1
    assert OnboardingRun.objects.filter(user=user).count() == 1


def test_no_user_named_is_an_error():
    code, _out, err = run_command()

    assert code == 1
    assert "--all-incomplete" in err


def bulk_users(count: int, prefix: str) -> list[User]:
    """Users as sign-in leaves them, created in one statement (the service's path is per user)."""
    password = make_password(None)
    return User.objects.bulk_create(
        User(
            username=f"{prefix}-{number}",
            email=f"{prefix}-{number}@example.com",
            sub=f"{prefix}-sub-{number}",
            full_name=f"Bulk User {number}",
            password=password,
        )
        for number in range(count)
    )


def test_all_incomplete_onboards_every_incomplete_user_once(make_user):
    """Correctness only, on a few users: how fast it goes is bench/onboard_all_incomplete.py's to say."""
    done = make_user(email="done@example.com")
    onboard_user(user=done, trigger="login")
    users = bulk_users(25, "bulk")

    code, out, err = run_command("--all-incomplete", "--format", "json")

    assert code == 0 and err.endswith(" s: 25 completed.\n"), err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 25
    assert {line["user_id"] for line in lines} == {str(u.pk) for u in users}
    assert all(line["status"] == "completed" and line["created"] == CREATED_ALL for line in lines)
    assert Notebook.objects.count() == 26
    assert Document.objects.count() == 78
    assert not UserOnboarding.objects.exclude(status=OnboardingStatus.COMPLETED).exists()
    # The user completed before was left alone: no run of the command's.
    assert not OnboardingRun.objects.filter(user=done, trigger="command").exists()


@pytest.mark.django_db(transaction=True)
def test_all_incomplete_commits_user_by_user_and_can_run_again(make_user, monkeypatch):
    users = bulk_users(30, "again")
    broken = users[10]

    def agent_failing_for_one_user(real, ctx):
        # Failure injection: one user's run fails; the others must still be kept.
        created = real(ctx)
        if ctx.user.pk == broken.pk:
            raise RuntimeError("agent service down")
        return created

    replace_onboarding_step(monkeypatch, "agent", agent_failing_for_one_user)
    code, out, err = run_command("--all-incomplete")

    assert code == 1 and "1 failed" in err
    assert UserOnboarding.objects.filter(status=OnboardingStatus.COMPLETED).count() == 29
    assert status_of(broken) == OnboardingStatus.FAILED
    assert Agent.objects.filter(owner=broken).count() == 0

    monkeypatch.undo()
    code, out, err = run_command("--all-incomplete")

    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [broken.email]
    assert UserOnboarding.objects.filter(status=OnboardingStatus.COMPLETED).count() == 30
    assert Agent.objects.count() == 30


@pytest.fixture
def terminal_stderr(monkeypatch):
    """Make ``sys.stderr`` a real terminal (a pseudo-terminal) and collect what is written to it."""
    terminal = Terminal()
    tty = open(terminal.tty_fd, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115 - closed below

    def written() -> str:
        tty.flush()
        return terminal.text()

    # Swapped in the test's own phase: pytest's output capture resets sys.stderr after set-up.
    yield lambda: monkeypatch.setattr(sys, "stderr", tty), written
    monkeypatch.undo()
    tty.close()
    terminal.close()


def test_a_progress_bar_on_a_terminal_for_many_users(terminal_stderr):
    attach, written = terminal_stderr
    bulk_users(25, "many")
    attach()

    code, out, _err = run_command("--all-incomplete")

    assert code == 0
    assert len(out.splitlines()) == 25
    assert "25/25" in written()


def test_the_progress_bar_counts_a_named_incomplete_user_once(terminal_stderr):
    attach, written = terminal_stderr
    users = bulk_users(25, "named")
    attach()

    code, out, _err = run_command(users[0].email, users[1].email, "--all-incomplete")

    assert code == 0
    assert len(out.splitlines()) == 25
    shown = written()
    assert "25/25" in shown
    assert "/27" not in shown


def test_no_progress_bar_for_a_few_users_even_on_a_terminal(terminal_stderr):
    attach, written = terminal_stderr
    bulk_users(3, "few")
    attach()

    code, out, _err = run_command("--all-incomplete")

    assert code == 0 and len(out.splitlines()) == 3
    assert written() == ""


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    bulk_users(25, "quiet")

    code, out, err = run_command("--all-incomplete")

    assert code == 0 and len(out.splitlines()) == 25
    # No bar, only the closing line.
    assert re.fullmatch(r"25 users in \d+\.\d s: 25 completed\.\n", err), err


def test_an_interrupted_run_can_be_started_again(monkeypatch):
    users = sorted(bulk_users(12, "interrupted"), key=lambda user: user.pk)  # the command's order
    # Chunks of 4 users: the first chunk commits, the second is interrupted.
    monkeypatch.setattr(onboard_user_command, "CHUNK_SIZE", 4)

    seen: list[str] = []

    def interrupted_at_the_fifth_user(real, ctx):
        # Failure injection: Ctrl-C arrives while the fifth user's documents are being written.
        seen.append(ctx.user.pk)
        if len(seen) == 5:
            raise KeyboardInterrupt
        return real(ctx)

    replace_onboarding_step(monkeypatch, "documents", interrupted_at_the_fifth_user)
    code, out, err = run_command("--all-incomplete")

    assert code == 130
    assert "Interrupted after 4 of 12 users" in err
    assert len(out.splitlines()) == 4
    # The interrupted chunk's transaction was rolled back: nothing half-made, each run recorded failed.
    interrupted = [user.pk for user in users[4:8]]
    assert seen[4] == interrupted[0]
    assert not Notebook.objects.filter(owner_id__in=interrupted).exists()
    assert (
        list(OnboardingRun.objects.filter(user_id__in=interrupted).values_list("status", flat=True))
        == ["failed"] * 4
    )
    assert not OnboardingRun.objects.filter(user_id__in=[user.pk for user in users[8:]]).exists()

    monkeypatch.undo()
    code, out, _err = run_command("--all-incomplete")

    assert code == 0
    assert len(out.splitlines()) == 8
    assert UserOnboarding.objects.filter(status=OnboardingStatus.COMPLETED).count() == 12
    assert Notebook.objects.filter(owner__in=users).count() == 12
    assert Document.objects.filter(notebook__owner__in=users).count() == 36
