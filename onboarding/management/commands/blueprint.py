"""``manage.py blueprint``: the onboarding blueprint as a file, one subcommand each.

``export [VERSION]`` prints a version as JSON; ``publish FILE [--note TEXT] [--dry-run]`` publishes a
file of that shape as the next version through the admin's own service and rules
(``onboarding.blueprint_file``). ``rollout [--dry-run] [--wait]`` and ``rollouts`` preview, start,
follow and list roll-outs of the current version to users onboarded before it (their handlers are
in ``onboarding.management.rollout_subcommands``). A subcommand is a ``Subcommand``: its arguments and
a small handler, listed in ``SUBCOMMANDS``.
"""

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from onboarding.blueprint_file import (
    BlueprintFileInvalid,
    blueprint_export_text,
    blueprint_file_check,
    blueprint_file_differences,
    blueprint_file_publish,
    blueprint_file_read,
)
from onboarding.blueprints import BlueprintUnchanged
from onboarding.management.rollout_subcommands import rollout, rollout_arguments, rollouts, rollouts_arguments
from onboarding.management.terminal import count, printable
from onboarding.selectors import blueprint_current, blueprint_numbered

logger = logging.getLogger("aether.onboarding")

# Problems printed for one file; a hostile file can have thousands, and the first ones say enough.
PROBLEMS_SHOWN = 100


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    add_arguments: Callable[[CommandParser], None]
    handle: Callable[[BaseCommand, dict], None]


def version_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise argparse.ArgumentTypeError(f"a version is a whole number from 1, not {text[:20]!r}")
    return int(text)


def export_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "version",
        nargs="?",
        type=version_number,
        metavar="VERSION",
        help="the version (default: the current one)",
    )


def export(command: BaseCommand, options: dict) -> None:
    number = options["version"]
    blueprint = blueprint_current() if number is None else blueprint_numbered(number)
    if blueprint is None:
        newest = blueprint_current()
        if newest is None:
            raise CommandError("No blueprint version is published yet: there is nothing to export.")
        raise CommandError(f"There is no blueprint version {number}; the versions are 1 to {newest.version}.")
    command.stdout.write(blueprint_export_text(blueprint), ending="")


def publish_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="a file in the shape `export` prints; - reads standard input"
    )
    parser.add_argument("--note", help='the change note, instead of the file\'s "note"')
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and show what it changes from the current version; publish nothing",
    )


def read(path: str) -> bytes:
    """The file's bytes (standard input for ``-``), or a ``CommandError`` saying why it cannot be read."""
    if path == "-":
        return blueprint_file_read(sys.stdin.buffer)
    try:
        with open(path, "rb") as stream:
            return blueprint_file_read(stream)
    except FileNotFoundError:
        raise CommandError(f"{printable(path)}: there is no such file.") from None
    except IsADirectoryError:
        raise CommandError(f"{printable(path)}: this is a directory, not a file.") from None
    except OSError as exc:
        raise CommandError(f"{printable(path)}: cannot be read ({exc.strerror}).") from None


def publish(command: BaseCommand, options: dict) -> None:
    source = "standard input" if options["file"] == "-" else options["file"]
    try:
        data = read(options["file"])
        if options["dry_run"]:
            dry_run(command, data, note=options["note"])
            return
        previous = blueprint_current()
        published = blueprint_file_publish(data, note=options["note"])
    except BlueprintFileInvalid as invalid:
        lines = invalid.lines()
        for line in lines[:PROBLEMS_SHOWN]:
            command.stderr.write(printable(line))
        if len(lines) > PROBLEMS_SHOWN:
            command.stderr.write(f"… and {count(len(lines) - PROBLEMS_SHOWN, 'more problem')}.")
        raise CommandError(
            f"{count(len(lines), 'problem')} in {printable(source)}; nothing was published.", returncode=1
        ) from None
    except BlueprintUnchanged as unchanged:
        command.stdout.write(unchanged.message)
        return
    logger.info(
        "blueprint version published from a file",
        extra={
            "version": published.version,
            "previous_version": previous.version if previous else None,
            "file": source,
            "change_note": published.change_note,
        },
    )
    command.stdout.write(f"published version {published.version}")


def dry_run(command: BaseCommand, data: bytes, *, note: str | None) -> None:
    checked = blueprint_file_check(data, note=note)
    current = blueprint_current()
    changes = blueprint_file_differences(current, checked.blueprint, checked.documents)
    if not changes:
        command.stdout.write(
            f"The file is valid and the same as version {current.version}, the current one: "
            "publishing it would publish nothing."
        )
        return
    next_version = current.version + 1 if current else 1
    against = f"version {current.version}, the current one" if current else "nothing"
    command.stdout.write(f"The file is valid. As version {next_version}, it would change from {against}:")
    for change in changes:
        command.stdout.write(f"  {printable(change)}")
    command.stdout.write(f"Note: {printable(checked.note)}")
    command.stdout.write("Nothing was published (--dry-run).")


SUBCOMMANDS = (
    Subcommand("export", "print a blueprint version as JSON", export_arguments, export),
    Subcommand(
        "publish",
        "check a JSON file in the shape `export` prints and publish it as the next version",
        publish_arguments,
        publish,
    ),
    Subcommand(
        "rollout",
        "start rolling the current version out to users onboarded before it "
        "(--dry-run: count what it would change)",
        rollout_arguments,
        rollout,
    ),
    Subcommand("rollouts", "list roll-outs with their status and counts", rollouts_arguments, rollouts),
)


class Command(BaseCommand):
    help = (
        "The onboarding blueprint as a file: `export [VERSION]` prints a version as JSON, "
        "`publish FILE [--note TEXT] [--dry-run]` publishes a file of that shape as the next version; "
        "`rollout [--dry-run] [--wait]` rolls the current version out to users onboarded before it, "
        "`rollouts` lists roll-outs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for subcommand in SUBCOMMANDS:
            subparser = subparsers.add_parser(
                subcommand.name, help=subcommand.help, description=subcommand.help
            )
            subcommand.add_arguments(subparser)

    def handle(self, *args: object, **options: object) -> None:
        (subcommand,) = (each for each in SUBCOMMANDS if each.name == options["subcommand"])
        subcommand.handle(self, options)
