"""``manage.py onboard_user``: onboard named users, or every user whose onboarding is incomplete.

Users are onboarded by ``onboarding.bulk.onboard_users``, a chunk of them per transaction, with each
user's guarantees of ``onboard_user``: one user's failure undoes nothing of the others', and an
interrupted run can simply be started again (completed users are skipped).
"""

import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.models import User
from accounts.selectors import AmbiguousIdentifier, user_by_identifier
from onboarding.bulk import CHUNK_SIZE, onboard_users
from onboarding.management.terminal import count, duration, printable, terminal_logs
from onboarding.models import OnboardingRun, OnboardingStatus
from onboarding.selectors import (
    blueprint_current,
    onboarding_plan,
    onboarding_state_of,
    user_batches,
    users_with_incomplete_onboarding,
)

# A progress bar is worth drawing from this many users on, and only on a terminal.
PROGRESS_BAR_FROM = 20
BATCH_SIZE = 500


@dataclass
class Outcome:
    """One user's line of output."""

    identifier: str
    user_id: str
    status: str
    duration_ms: int = 0
    created: dict[str, int] = field(default_factory=dict)
    would_create: dict[str, list[str]] | None = None
    failed_step: str = ""
    error: str = ""
    run_id: str = ""

    @property
    def tally_key(self) -> str:
        """What the summary counts this user as: the run's status, or what a dry run found."""
        if self.would_create is None:
            return self.status
        return "would_create" if any(self.would_create.values()) else "has_everything"

    def as_json(self) -> str:
        body: dict[str, object] = {
            "identifier": self.identifier,
            "user_id": self.user_id,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "created": self.created,
        }
        if self.would_create is not None:
            body["would_create"] = self.would_create
        if self.run_id:
            body["run_id"] = self.run_id
        if self.status == OnboardingRun.Status.FAILED:
            body["failed_step"] = self.failed_step or None
            body["error"] = self.error
        return json.dumps(body, ensure_ascii=False)

    def as_text(self) -> str:
        head = f"{printable(self.identifier)}  {self.status}  {self.duration_ms} ms"
        if self.status == OnboardingRun.Status.FAILED:
            where = f" at {self.failed_step}" if self.failed_step else ""
            return f"{head}  failed{where}: {printable(self.error)}"
        if self.status == OnboardingRun.Status.SKIPPED:
            return f"{head}  already completed (--force creates whatever is missing)"
        if self.would_create is not None:
            wanted = {step: names for step, names in self.would_create.items() if names}
            if not wanted:
                return f"{head}  would create nothing"
            listed = "; ".join(f"{step}: {', '.join(names)}" for step, names in wanted.items())
            return f"{head}  would create {listed}"
        made = ", ".join(f"{step}={count}" for step, count in self.created.items() if count)
        return f"{head}  created {made or 'nothing (all present)'}"


# The summary's parts, in this order: tally key -> words after the count.
SUMMARY_PARTS = (
    (OnboardingRun.Status.COMPLETED, "completed"),
    (OnboardingRun.Status.FAILED, "failed"),
    (OnboardingRun.Status.SKIPPED, "skipped (already completed)"),
    ("would_create", "with something to create"),
    ("has_everything", "with nothing missing"),
)


def summary_line(tally: Counter[str], *, unknown: int, seconds: float) -> str:
    """The closing line: "300 users in 12.4 s: 298 completed, 1 failed, 1 skipped (already completed)." """
    parts = [f"{tally[key]} {words}" for key, words in SUMMARY_PARTS if tally[key]]
    line = f"{count(sum(tally.values()), 'user')} in {duration(seconds)}"
    if parts:
        line += ": " + ", ".join(parts)
    if unknown:
        line += f"; {count(unknown, 'unknown identifier')}"
    if "would_create" in tally or "has_everything" in tally:
        line += "; a dry run, nothing was changed"
    return line + "."


def chunks(items: Iterable[tuple[str, User]], size: int) -> Iterator[list[tuple[str, User]]]:
    """``items`` in lists of ``size`` (the last one shorter), each read only when it is wanted."""
    chunk: list[tuple[str, User]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Command(BaseCommand):
    help = (
        "Onboard users now: create whatever the onboarding blueprint lists and they are missing. "
        "Users are named by e-mail, OIDC sub, username or id. On a terminal, log lines below warnings "
        "are held back (-v 2 shows them) and a progress bar is drawn for many users."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "identifiers", nargs="*", metavar="IDENTIFIER", help="e-mail, sub, username or id"
        )
        parser.add_argument(
            "--all-incomplete",
            action="store_true",
            help="every user whose onboarding is not completed, in batches by primary key",
        )
        parser.add_argument("--force", action="store_true", help="also run for users already completed")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be created; change nothing"
        )
        parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    def handle(self, *args: object, **options: object) -> None:
        identifiers: list[str] = options["identifiers"]
        if not identifiers and not options["all_incomplete"]:
            raise CommandError(
                "Name at least one user (e-mail, sub, username or id) or pass --all-incomplete."
            )
        # Read once: a dry run plans every user against it (a real run reads the current one itself).
        self.blueprint = blueprint_current()
        if self.blueprint is None:
            raise CommandError("No onboarding blueprint exists; publish one in the admin first.")

        started = time.monotonic()
        named, unknown = self._resolve(identifiers)
        total = len(named)
        if options["all_incomplete"]:
            # A named user who is also incomplete is processed once, so counted once.
            incomplete = users_with_incomplete_onboarding().exclude(pk__in=[user.pk for _i, user in named])
            total += incomplete.count()
        if total == 0 and not unknown:
            self.stderr.write("Nothing to do: every user's onboarding is completed.")
            return
        on_terminal = sys.stderr.isatty()
        tally: Counter[str] = Counter()
        with (
            tqdm(
                total=total,
                desc="Onboarding",
                unit=" user",
                file=sys.stderr,
                dynamic_ncols=True,
                disable=not (on_terminal and total >= PROGRESS_BAR_FROM),
            ) as bar,
            terminal_logs(bar, quiet=on_terminal and options["verbosity"] < 2),
        ):
            try:
                for chunk in chunks(self._users(named, options["all_incomplete"]), CHUNK_SIZE):
                    for outcome in self._onboard(chunk, force=options["force"], dry=options["dry_run"]):
                        line = outcome.as_json() if options["format"] == "json" else outcome.as_text()
                        # Lift the bar while a line is written, in case both go to the same terminal.
                        with tqdm.external_write_mode(file=sys.stdout):
                            self.stdout.write(line)
                            self.stdout.flush()
                        tally[outcome.tally_key] += 1
                        bar.update()
            except KeyboardInterrupt:
                done = sum(tally.values())
                raise CommandError(
                    f"Interrupted after {done} of {count(total, 'user')}; each finished user is saved. "
                    "Run the command again to continue.",
                    returncode=130,
                ) from None
        summary = summary_line(tally, unknown=len(unknown), seconds=time.monotonic() - started)
        if unknown or tally[OnboardingRun.Status.FAILED]:
            raise CommandError(summary, returncode=1)
        self.stderr.write(summary)

    def _resolve(self, identifiers: list[str]) -> tuple[list[tuple[str, User]], list[str]]:
        """The named users, each once, and the identifiers that name nobody (reported on stderr)."""
        named: list[tuple[str, User]] = []
        seen: set = set()
        unknown: list[str] = []
        for identifier in identifiers:
            try:
                user = user_by_identifier(identifier)
            except AmbiguousIdentifier as exc:
                self.stderr.write(f"ambiguous user: {printable(str(exc))}; name them by sub, username or id")
                unknown.append(identifier)
                continue
            if user is None:
                self.stderr.write(f"unknown user: {printable(identifier)}")
                unknown.append(identifier)
            elif user.pk not in seen:
                seen.add(user.pk)
                named.append((identifier, user))
        return named, unknown

    def _users(self, named: list[tuple[str, User]], all_incomplete: bool) -> Iterator[tuple[str, User]]:
        yield from named
        if not all_incomplete:
            return
        already = {user.pk for _identifier, user in named}
        for batch in user_batches(users_with_incomplete_onboarding(), size=BATCH_SIZE):
            for user in batch:
                if user.pk not in already:
                    yield user.email or user.username, user

    def _onboard(self, chunk: list[tuple[str, User]], *, force: bool, dry: bool) -> Iterator[Outcome]:
        if dry:
            for identifier, user in chunk:
                yield self._plan(identifier, user, force=force)
            return
        runs = onboard_users(
            users=[user for _identifier, user in chunk], trigger=OnboardingRun.Trigger.COMMAND, force=force
        )
        for (identifier, user), run in zip(chunk, runs, strict=True):
            yield Outcome(
                identifier=identifier,
                user_id=str(user.pk),
                status=run.status,
                duration_ms=run.duration_ms or 0,
                created=run.created or {},
                failed_step=run.failed_step,
                error=run.error,
                run_id=str(run.pk),
            )

    def _plan(self, identifier: str, user: User, *, force: bool) -> Outcome:
        started = time.monotonic()
        if onboarding_state_of(user).status == OnboardingStatus.COMPLETED and not force:
            status = OnboardingRun.Status.SKIPPED
            would_create = None
        else:
            status = "dry_run"
            would_create = onboarding_plan(user, self.blueprint).as_dict()
        return Outcome(
            identifier=identifier,
            user_id=str(user.pk),
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            would_create=would_create,
        )
