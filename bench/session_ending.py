"""Ending sessions (back-channel logout, deactivation) and pruning their records.

Fills the scratch database with users holding database sessions, every one recorded as a sign-in
records it, then reports which index the lookup of one user's sessions uses, the median time and the
statements of a logout by ``sid`` and by ``sub`` and of a deactivation, and how fast ``prune_sessions``
goes when a tenth of the sessions are gone. Everything it made is deleted at the end.
"""

import datetime
import uuid
from dataclasses import dataclass

from table import Row, indexes_used, info, median, milliseconds

BATCH = 5000


@dataclass(frozen=True)
class Sizes:
    users: int
    sessions_per_user: int
    runs: int


FULL = Sizes(users=5000, sessions_per_user=10, runs=51)
TINY = Sizes(users=20, sessions_per_user=3, runs=3)


def fill(tag: str, sizes: Sizes) -> list:
    """Users with their sessions (database engine) and the records of them; returns the users."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.models import BrowserSession, User

    users = User.objects.bulk_create(
        User(username=f"{tag}-{n}", sub=f"{tag}-{n}", email=f"{tag}-{n}@example.com")
        for n in range(sizes.users)
    )
    data = SessionStore().encode({})
    expires = timezone.now() + datetime.timedelta(days=14)
    sessions, records = [], []
    for user in users:
        for n in range(sizes.sessions_per_user):
            key = uuid.uuid4().hex
            sessions.append(Session(session_key=key, session_data=data, expire_date=expires))
            records.append(BrowserSession(user=user, session_key=key, sid=f"{user.sub}-{n}"))
    Session.objects.bulk_create(sessions, batch_size=BATCH)
    BrowserSession.objects.bulk_create(records, batch_size=BATCH)
    return users


def timed(label: str, action, users: list) -> Row:
    """Run ``action(user)`` for each of ``users``: the median time and the statements of one run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    durations, statements = [], []
    for user in users:
        with CaptureQueriesContext(connection) as captured:
            durations.append(milliseconds(lambda user=user: action(user)))
        statements.append(len(captured))
    return info(label, f"{median(durations):.2f} ms, {median(statements):.0f} statements")


def lookup_plan(sub: str) -> str:
    """The indexes the lookup of one user's sessions by ``sub`` uses, from its plan."""
    from django.db import connection

    from accounts.models import BrowserSession

    sql, params = (
        BrowserSession.objects.filter(user__sub=sub).values_list("session_key").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute(f"EXPLAIN {sql}", params)
        return indexes_used("\n".join(line for (line,) in cursor.fetchall()))


def measure(url: str, tiny: bool) -> list[Row]:
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.models import BrowserSession, ConsumedLogoutToken, User
    from accounts.services import user_deactivate
    from accounts.sessions import provider_logout, sessions_prune

    sizes = TINY if tiny else FULL
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    users = fill(tag, sizes)
    total = sizes.users * sizes.sessions_per_user
    try:
        rows = [
            info(
                f"sessions: lookup of one user's sessions by sub, {total:,} recorded",
                lookup_plan(users[0].sub),
            )
        ]

        def logout(**names):
            until = timezone.now() + datetime.timedelta(minutes=5)
            return provider_logout(jti=uuid.uuid4().hex, expires_at=until, **names)

        first, second = users[: sizes.runs], users[sizes.runs : 2 * sizes.runs]
        rows += [
            timed("sessions: logout by sid (ends 1)", lambda u: logout(sub=None, sid=f"{u.sub}-0"), first),
            timed(
                f"sessions: logout by sub (ends {sizes.sessions_per_user - 1})",
                lambda u: logout(sub=u.sub, sid=None),
                first,
            ),
            timed(
                f"sessions: deactivation (ends {sizes.sessions_per_user})",
                lambda u: user_deactivate(user=u),
                second,
            ),
        ]
        # A tenth of the remaining sessions vanish behind the records' back (expired and cleared).
        gone = list(BrowserSession.objects.values_list("session_key", flat=True)[::10])
        Session.objects.filter(session_key__in=gone).delete()
        remaining = BrowserSession.objects.count()
        elapsed = milliseconds(sessions_prune)
        rows.append(
            info(
                f"sessions: prune_sessions over {remaining:,} records",
                f"{remaining / elapsed * 1000:,.0f} records/s",
            )
        )
    finally:
        BrowserSession.objects.filter(user__sub__startswith=tag).delete()
        Session.objects.all().delete()
        ConsumedLogoutToken.objects.all().delete()
        User.objects.filter(sub__startswith=tag).delete()
    return rows
