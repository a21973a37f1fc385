"""``manage.py blueprint rollout`` and ``blueprint rollouts``: roll-outs from the shell.

``rollout`` previews (``--dry-run``) or starts a roll-out of the current version, and with ``--wait``
prints its progress until it ends; ``rollouts`` lists them with their counts, and with ``--pause``,
``--resume`` or ``--cancel`` first changes the one under way. Both only call
``onboarding.rollouts`` and ``onboarding.upgrades``.
"""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onboarding.management.terminal import count, printable
from onboarding.models import ROLLOUT_UNFINISHED, Rollout
from onboarding.rollouts import (
    DEFAULT_BATCH_SIZE,
    NothingToRollOut,
    RolloutProgress,
    RolloutRefused,
    rollout_cancel,
    rollout_pause,
    rollout_progress,
    rollout_resume,
    rollout_start,
    rollouts_with_progress,
)
from onboarding.selectors import blueprint_current
from onboarding.upgrades import rollout_preview

# How often --wait looks at the roll-out, in seconds.
WAIT_INTERVAL = 1.0


def rollout_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="count what rolling the current version out would change, per change; start nothing",
    )
    parser.add_argument(
        "--wait", action="store_true", help="print its progress until it ends (exit 1 if any user failed)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"users per batch, each user in a transaction of their own (default {DEFAULT_BATCH_SIZE})",
    )


def rollout(command: BaseCommand, options: dict) -> None:
    if options["dry_run"]:
        preview(command)
        return
    try:
        started = rollout_start(actor=None, batch_size=options["batch_size"])
    except NothingToRollOut as nothing:
        command.stdout.write(str(nothing))
        return
    except RolloutRefused as refused:
        raise CommandError(str(refused), returncode=1) from None
    versions = ", ".join(str(version) for version in started.from_versions)
    command.stdout.write(
        f"started roll-out {started.pk}: version {started.to_version} to {count(started.total, 'user')} "
        f"on version {versions}"
    )
    if options["wait"]:
        wait(command, rollout_progress(started))


def preview(command: BaseCommand) -> None:
    current = blueprint_current()
    if current is None:
        raise CommandError("No blueprint version is published: there is nothing to roll out.", returncode=1)
    seen = rollout_preview(current)
    if not seen.users:
        command.stdout.write(f"Every onboarded user has version {seen.version} already: nothing to roll out.")
        return
    versions = ", ".join(str(version) for version in seen.from_versions)
    command.stdout.write(
        f"Rolling out version {seen.version} would reach {count(seen.users, 'user')} on version {versions}:"
    )
    for change in seen.changes:
        if not change.users:
            continue
        who = ", ".join(printable(email) for email in change.sample)
        more = f" and {change.users - len(change.sample)} more" if change.users > len(change.sample) else ""
        documents, users = count(change.documents, "document"), count(change.users, "user")
        command.stdout.write(f"  {change.label}: {documents}, {users} ({who}{more})")
    if seen.unchanged_users:
        command.stdout.write(
            f"  only recorded as on version {seen.version}: {count(seen.unchanged_users, 'user')}"
        )
    command.stdout.write("Nothing was started (--dry-run).")


def progress_line(progress: RolloutProgress) -> str:
    return (
        f"roll-out {progress.rollout.pk} {progress.rollout.status}: {progress.done} done, "
        f"{progress.failed} failed, {progress.skipped} skipped, {progress.remaining} remaining "
        f"of {progress.total} ({progress.percent}%)"
    )


def wait(command: BaseCommand, progress: RolloutProgress) -> None:
    """Print a line whenever the counts change, until the roll-out ends; fail when a user failed."""
    shown = ""
    while True:
        line = progress_line(progress)
        if line != shown:
            command.stdout.write(line)
            shown = line
        if progress.rollout.status not in ROLLOUT_UNFINISHED:
            break
        time.sleep(WAIT_INTERVAL)
        progress = rollout_progress(progress.rollout)
    if progress.failed:
        raise CommandError(
            f"{count(progress.failed, 'user')} could not be brought to version "
            f"{progress.rollout.to_version}: see their onboarding runs (trigger rollout) in the admin.",
            returncode=1,
        )
    if progress.rollout.status != "completed":
        raise CommandError(f"Roll-out {progress.rollout.pk} was {progress.rollout.status}.", returncode=1)


def rollouts_arguments(parser: CommandParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="how many, newest first (default 20)")
    change = parser.add_mutually_exclusive_group()
    for name in CHANGES:
        change.add_argument(f"--{name}", action="store_true", help=f"first {name} the roll-out under way")


# What an operator may do to the roll-out under way (at most one is running or paused).
CHANGES = {"pause": rollout_pause, "resume": rollout_resume, "cancel": rollout_cancel}


def change_unfinished(command: BaseCommand, name: str) -> None:
    unfinished = Rollout.objects.filter(status__in=ROLLOUT_UNFINISHED).first()
    if unfinished is None:
        raise CommandError(f"No roll-out is running or paused: there is none to {name}.", returncode=1)
    try:
        changed = CHANGES[name](rollout=unfinished)
    except RolloutRefused as refused:
        raise CommandError(str(refused), returncode=1) from None
    command.stdout.write(f"roll-out {changed.pk} is {changed.status} now")


def rollouts(command: BaseCommand, options: dict) -> None:
    for name in CHANGES:
        if options[name]:
            change_unfinished(command, name)
    listed = rollouts_with_progress(limit=options["limit"])
    if not listed:
        command.stdout.write("No roll-out yet.")
        return
    header = ("ID", "STATUS", "TO", "FROM", "DONE", "FAILED", "SKIPPED", "REMAINING", "STARTED", "FINISHED")
    rows = [header] + [
        (
            str(p.rollout.pk),
            p.rollout.status,
            str(p.rollout.to_version),
            ",".join(str(v) for v in p.rollout.from_versions),
            str(p.done),
            str(p.failed),
            str(p.skipped),
            str(p.remaining),
            f"{p.rollout.started_at:%Y-%m-%d %H:%M:%S}",
            f"{p.rollout.finished_at:%Y-%m-%d %H:%M:%S}" if p.rollout.finished_at else "-",
        )
        for p in listed
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        command.stdout.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
