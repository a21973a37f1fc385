"""``manage.py prune_sessions``: what ``clearsessions`` does, and the records that go with sessions.

Run it daily in place of ``clearsessions``: it clears expired sessions from the session store, then
forgets the records (``BrowserSession``) of sessions the store no longer holds and the logout-token
ids too old to matter.
"""

from django.core.management.base import BaseCommand

from accounts.sessions import sessions_prune


class Command(BaseCommand):
    help = (
        "Clear expired sessions (as clearsessions does), the records of sessions that no longer "
        "exist, and expired logout-token ids."
    )

    def handle(self, *args: object, **options: object) -> None:
        records, tokens = sessions_prune()
        self.stdout.write(f"forgot {records} ended sessions; dropped {tokens} expired logout-token ids")
