"""Time ending sessions (back-channel logout, deactivation) and pruning their records, on PostgreSQL.

    .venv/bin/python bench/session_ending.py   # DATABASE_URL defaults to .../aether_bench

The database named in DATABASE_URL is created if missing, migrated
and used as scratch space: it is filled with ``BENCH_USERS`` users holding ``BENCH_SESSIONS_PER_USER``
database sessions each, every one recorded as a sign-in records it, and emptied at the end. Prints the
plan of the query that finds a user's sessions, the statements and median time of a logout by ``sub``
and by ``sid`` and of a deactivation, and how long ``prune_sessions`` takes when a tenth of the
sessions are gone.
"""

import datetime
import os
import statistics
import time
import uuid

from scratch import use_scratch_database

USERS = int(os.environ.get("BENCH_USERS", "5000"))
SESSIONS_PER_USER = int(os.environ.get("BENCH_SESSIONS_PER_USER", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "51"))
BATCH = 5000


def fill(tag: str) -> list:
    """Users with their sessions (database engine) and the records of them; returns the users."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.models import BrowserSession, User

    users = User.objects.bulk_create(
        User(username=f"{tag}-{n}", sub=f"{tag}-{n}", email=f"{tag}-{n}@example.com") for n in range(USERS)
    )
    data = SessionStore().encode({})
    expires = timezone.now() + datetime.timedelta(days=14)
    sessions, records = [], []
    for user in users:
        for n in range(SESSIONS_PER_USER):
            key = uuid.uuid4().hex
            sessions.append(Session(session_key=key, session_data=data, expire_date=expires))
            records.append(BrowserSession(user=user, session_key=key, sid=f"{user.sub}-{n}"))
    Session.objects.bulk_create(sessions, batch_size=BATCH)
    BrowserSession.objects.bulk_create(records, batch_size=BATCH)
    return users


def measure(label: str, action, users: list) -> None:
    """Run ``action(user)`` for ``RUNS`` users; print the median time and the statements of one run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    durations, statements = [], []
    for user in users[:RUNS]:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            action(user)
            durations.append((time.perf_counter() - started) * 1000)
        statements.append(len(captured))
    print(
        f"{label:<48} median {statistics.median(durations):6.2f} ms  "
        f"p95 {sorted(durations)[int(len(durations) * 0.95) - 1]:6.2f} ms  "
        f"statements {statistics.median(statements):.0f}"
    )


def main() -> None:
    use_scratch_database("aether_bench")
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.utils import timezone

    from accounts.models import BrowserSession, ConsumedLogoutToken, User
    from accounts.services import user_deactivate
    from accounts.sessions import provider_logout, sessions_prune

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    users = fill(tag)
    total = USERS * SESSIONS_PER_USER
    print(f"{USERS} users, {total} sessions recorded in {time.perf_counter() - started:.1f} s")
    try:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            sql, params = (
                BrowserSession.objects.filter(user__sub=users[0].sub)
                .values_list("session_key")
                .query.sql_with_params()
            )
            cursor.execute(f"EXPLAIN ANALYZE {sql}", params)
            print("the lookup of one user's sessions by sub:")
            for (line,) in cursor.fetchall():
                print(f"    {line}")

        def logout(**names):
            until = timezone.now() + datetime.timedelta(minutes=5)
            return provider_logout(jti=uuid.uuid4().hex, expires_at=until, **names)

        measure("logout by sid (ends 1 session)", lambda u: logout(sub=None, sid=f"{u.sub}-0"), users)
        measure(
            f"logout by sub (ends {SESSIONS_PER_USER - 1} sessions)",
            lambda u: logout(sub=u.sub, sid=None),
            users,
        )
        measure(
            f"deactivation (ends {SESSIONS_PER_USER} sessions)",
            lambda u: user_deactivate(user=u),
            users[RUNS:],
        )

        # A tenth of the remaining sessions vanish behind the records' back (expired and cleared).
        gone = list(BrowserSession.objects.values_list("session_key", flat=True)[::10])
        Session.objects.filter(session_key__in=gone).delete()
        remaining = BrowserSession.objects.count()
        started = time.perf_counter()
        records, _tokens = sessions_prune()
        elapsed = time.perf_counter() - started
        print(
            f"prune_sessions over {remaining} records: {elapsed:.2f} s "
            f"({remaining / elapsed:,.0f} records/s), {records} forgotten"
        )
    finally:
        BrowserSession.objects.filter(user__sub__startswith=tag).delete()
        Session.objects.all().delete()
        ConsumedLogoutToken.objects.all().delete()
        User.objects.filter(sub__startswith=tag).delete()


if __name__ == "__main__":
    main()
