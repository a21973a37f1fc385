"""``manage.py onboard_user`` on an operator's terminal: a clean bar, one closing line, no noise.

The terminal is a real pseudo-terminal (``os.openpty``): once for the command run as a process
exactly as an operator types it, and once in this process where a failure can be injected.
"""

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import User
from onboarding.services import onboard_user
from onboarding.tests.faults import replace_onboarding_step
from onboarding.tests.operator import operator_environment
from onboarding.tests.terminal import Terminal
from onboarding.tests.test_onboard_user_command import bulk_users, run_command

ROOT = Path(__file__).resolve().parents[2]
# What a redraw of the bar may look like, and nothing else: "Onboarding:  40%|████      | 12/30 [...]".
BAR = re.compile(r"Onboarding: +\d+%\|[█▏▎▍▌▋▊▉ ]*\| *\d+/\d+ \[[^\]]*\]")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def screen_lines(raw: str) -> list[str]:
    """Every piece of text the terminal was given between carriage returns and newlines, escapes removed."""
    return [piece.strip() for piece in re.split(r"[\r\n]+", ANSI.sub("", raw)) if piece.strip()]


@pytest.fixture
def terminal():
    term = Terminal()
    yield term
    term.close()


def operator_runs(terminal: Terminal, *args: str) -> int:
    """``manage.py onboard_user ARGS`` in its own process, stdout and stderr on the terminal."""
    process = subprocess.run(
        [sys.executable, "manage.py", "onboard_user", *args],
        cwd=ROOT,
        env=operator_environment(),
        stdin=subprocess.DEVNULL,
        stdout=terminal.tty_fd,
        stderr=terminal.tty_fd,
        timeout=300,
        check=False,
    )
    return process.returncode


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_operator_sees_a_clean_bar_then_one_summary_line(terminal):
    bulk_users(30, "tty")

    code = operator_runs(terminal, "--all-incomplete")

    raw = terminal.text()
    lines = screen_lines(raw)
    assert code == 0, raw
    user_lines = [line for line in lines if "@example.com" in line]
    bar_lines = [line for line in lines if "Onboarding:" in line]
    others = [line for line in lines if line not in user_lines and line not in bar_lines]
    # One intact line per user, every redraw of the bar intact, and one closing line: nothing else,
    # no JSON log line of each run, no system-check warning about sign-in.
    assert len(user_lines) == 30
    assert all(
        re.fullmatch(r"tty-\d+@example\.com  completed  \d+ ms  created .+", line) for line in user_lines
    )
    assert bar_lines and all(BAR.fullmatch(line) for line in bar_lines), bar_lines
    assert "30/30" in bar_lines[-1]
    assert len(others) == 1 and re.fullmatch(r"30 users in \d+\.\d s: 30 completed\.", others[0]), others
    assert lines[-1] == others[0]
    assert '"logger"' not in raw and "OIDC_ISSUER" not in raw


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_nothing_to_do_the_operator_is_told_so(terminal):
    for user in bulk_users(2, "done"):
        onboard_user(user=user, trigger="login")

    code = operator_runs(terminal, "--all-incomplete")

    assert code == 0
    assert screen_lines(terminal.text()) == ["Nothing to do: every user's onboarding is completed."]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_mistyped_option_is_refused_with_a_message(terminal):
    code = operator_runs(terminal, "--all-incomplete", "--format", "xml")

    assert code == 2
    assert "argument --format: invalid choice: 'xml' (choose from" in terminal.text()


@pytest.fixture
def console_on(terminal, monkeypatch):
    """``attach()`` points stderr, and the log handler of Django's settings, at the terminal.

    Called in the test's own phase: pytest's output capture sets ``sys.stderr`` again after set-up.
    """
    tty = open(terminal.tty_fd, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    # The "console" handler of settings.LOGGING (pytest adds handlers of its own beside it).
    (console,) = [h for h in logging.getLogger("aether").handlers if type(h) is logging.StreamHandler]
    previous = console.stream

    def attach() -> Terminal:
        console.setStream(tty)
        monkeypatch.setattr(sys, "stderr", tty)
        return terminal

    yield attach
    monkeypatch.undo()
    console.setStream(previous)
    tty.close()


# Transactional: runs log after their commit, which a test's enclosing transaction would hold back.
@pytest.mark.django_db(transaction=True)
def test_warnings_show_above_the_bar_and_other_log_lines_are_held_back(console_on, monkeypatch):
    bulk_users(25, "warn")
    failing = User.objects.get(username="warn-7")

    def fail_for_one(real, ctx):
        # Failure injection: the agent step fails for one user only.
        if ctx.user.pk == failing.pk:
            raise RuntimeError("agent service down")
        return real(ctx)

    replace_onboarding_step(monkeypatch, "agent", fail_for_one)
    terminal = console_on()
    code, out, err = run_command("--all-incomplete")

    lines = screen_lines(terminal.text())
    warnings = [line for line in lines if '"level": "WARNING"' in line]
    assert code == 1
    assert len(warnings) == 1 and warnings[0].startswith("{") and warnings[0].endswith("}")
    assert "warn-7@example.com" in out and "failed at agent: RuntimeError: agent service down" in out
    assert '"level": "INFO"' not in terminal.text()
    bars = [index for index, line in enumerate(lines) if line not in warnings]
    assert all(BAR.fullmatch(lines[index]) for index in bars)
    # The bar was drawn before the warning and again after it, up to the end.
    assert bars[0] < lines.index(warnings[0]) < bars[-1] and "25/25" in lines[-1]
    assert re.fullmatch(r"25 users in \d+\.\d s: 24 completed, 1 failed\.\n", err.split("CommandError: ")[-1])


@pytest.mark.django_db(transaction=True)
def test_verbosity_2_shows_every_log_line_above_the_bar(console_on):
    bulk_users(25, "verbose")
    terminal = console_on()

    code, _out, _err = run_command("--all-incomplete", "--verbosity", "2")

    lines = screen_lines(terminal.text())
    logged = [line for line in lines if line.startswith("{")]
    assert code == 0
    assert len([line for line in logged if '"message": "onboarding completed"' in line]) == 25
    assert all(BAR.fullmatch(line) for line in lines if line not in logged)
    assert "25/25" in lines[-1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setup", "args", "summary"),
    [
        (lambda users: None, ["{0}"], "1 user in {t} s: 1 completed."),
        (
            lambda users: None,
            ["{0}", "{1}", "nobody@example.com"],
            "2 users in {t} s: 2 completed; 1 unknown identifier.",
        ),
        (
            lambda users: None,
            ["nobody@example.com", "nobody-else"],
            "0 users in {t} s; 2 unknown identifiers.",
        ),
        (
            lambda users: onboard_user(user=users[0], trigger="login"),
            ["{0}", "{1}"],
            "2 users in {t} s: 1 completed, 1 skipped (already completed).",
        ),
        (
            lambda users: onboard_user(user=users[0], trigger="login"),
            ["{0}", "{1}", "--dry-run", "--force"],
            "2 users in {t} s: 1 with something to create, 1 with nothing missing; "
            "a dry run, nothing was changed.",
        ),
    ],
)
def test_the_closing_line_counts_in_words_that_agree(setup, args, summary):
    users = bulk_users(2, "count")
    setup(users)

    _code, _out, err = run_command(*(arg.format(*(u.email for u in users)) for arg in args))

    closing = err.splitlines()[-1].removeprefix("CommandError: ")
    pattern = re.escape(summary).replace(re.escape("{t}"), r"\d+\.\d")
    assert re.fullmatch(pattern, closing), closing


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identifier", "shown"),
    [
        ("a\x00b", "'a\\x00b'"),
        ("", "''"),
        ("   ", "'   '"),
        ("\x1b[2Jgone", "'\\x1b[2Jgone'"),
        ("x" * 5000, "x" * 5000),
    ],
)
def test_a_hostile_identifier_is_named_harmlessly_and_changes_nothing(identifier, shown):
    code, out, err = run_command(identifier)

    assert code == 1 and out == ""
    assert f"unknown user: {shown}\n" in err
    assert "1 unknown identifier" in err
