"""``manage.py deactivate_user``: turn users inactive and end all their sessions at once.

The same service as the admin (``accounts.services.user_deactivate``): each browser session of the
user is deleted from the session store, and their bearer tokens are refused from the next request.
"""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.selectors import users_by_identifiers
from accounts.services import Deactivation, user_deactivate


def _status(result: Deactivation) -> str:
    return "deactivated" if result.was_active else "already_inactive"


def as_text(identifier: str, result: Deactivation) -> str:
    sessions = f"{result.sessions_ended} session{'s' if result.sessions_ended != 1 else ''} ended"
    return f"{identifier}  {_status(result).replace('_', ' ')}  {sessions}"


def as_json(identifier: str, result: Deactivation) -> str:
    body = {
        "identifier": identifier,
        "user_id": str(result.user.pk),
        "status": _status(result),
        "sessions_ended": result.sessions_ended,
    }
    return json.dumps(body, ensure_ascii=False)


class Command(BaseCommand):
    help = (
        "Deactivate users and end all their sessions at once: their browsers are signed out and "
        "their bearer tokens refused. Users are named by e-mail, OIDC sub, username or id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "identifiers", nargs="+", metavar="IDENTIFIER", help="e-mail, sub, username or id"
        )
        parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    def handle(self, *args: object, **options: object) -> None:
        named, unknown = users_by_identifiers(options["identifiers"])
        for line in unknown.values():
            self.stderr.write(line)
        render = as_json if options["format"] == "json" else as_text
        for identifier, user in named:
            self.stdout.write(render(identifier, user_deactivate(user=user)))
        if unknown:
            raise CommandError(
                f"{len(named)} users processed; {len(unknown)} unknown.",
                returncode=1,
            )
