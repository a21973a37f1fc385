"""Browser sessions: which user (and which provider session) holds each one, and ending them.

Django finds a session from its cookie; ending someone's sessions *without* their browser (the
provider signed them out, staff turned them inactive) needs the other direction. Each sign-in
records a ``BrowserSession`` row: the user, the session key and the ID token's ``sid``. Ending
sessions finds their keys in one query and deletes each through the session store's own API, so it
works whatever ``SESSION_ENGINE`` is configured (database, cache, cached_db, files). Sessions kept
in signed cookies live only in the browser and cannot be ended from here; a system check says so.
"""

import datetime
import logging
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.backends.signed_cookies import SessionStore as CookieSessionStore
from django.db import IntegrityError, router, transaction
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import BrowserSession, ConsumedLogoutToken, User

logger = logging.getLogger("aether.oidc")

# The attribute of the sign-in request where the OIDC backend leaves the verified ID token's `sid`.
PROVIDER_SID_ATTRIBUTE = "oidc_provider_sid"

# Records checked against the session store per query while pruning.
PRUNE_BATCH_SIZE = 500


class LogoutTokenReplayed(Exception):
    """A logout token whose ``jti`` was acted on before."""


def session_store() -> SessionBase:
    """An empty store of the configured ``SESSION_ENGINE``, for its key-level API."""
    return import_module(settings.SESSION_ENGINE).SessionStore()


def sessions_kept_server_side() -> bool:
    """Whether the session engine keeps sessions on the server, where they can be ended by key."""
    return not isinstance(session_store(), CookieSessionStore)


def browser_session_record(*, session: SessionBase, user: User, sid: str = "") -> BrowserSession | None:
    """Remember that ``session`` is ``user``'s, opened from the provider's session ``sid``.

    Called at every sign-in. ``login()`` after a flush leaves the session without a key until the
    response saves it: it is saved here to get one. A session signed in again (same key) takes the
    new ``sid``. Cookie-stored sessions have no key on the server: nothing is recorded.
    """
    if not sessions_kept_server_side():
        return None
    if not session.session_key:
        session.save()
    record, _created = BrowserSession.objects.update_or_create(
        session_key=session.session_key, defaults={"user": user, "sid": sid}
    )
    return record


def browser_session_forget(*, session_key: str | None) -> None:
    """Forget the record of a session that ended at sign-out."""
    if session_key:
        BrowserSession.objects.filter(session_key=session_key).delete()


def browser_sessions_end(sessions: QuerySet[BrowserSession]) -> int:
    """End ``sessions`` in the session store and forget them; return how many there were.

    Their keys come from one query; each is then deleted through the store's API. The browser that
    holds one of them is a visitor at its next request.
    """
    keys = list(sessions.order_by().values_list("session_key", flat=True))
    if not keys:
        return 0
    store = session_store()
    for key in keys:
        store.delete(key)
    BrowserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


def user_sessions_end(*, user: User) -> int:
    """End every browser session ``user`` holds; return how many."""
    return browser_sessions_end(BrowserSession.objects.filter(user=user))


@transaction.atomic
def provider_logout(*, jti: str, expires_at: datetime.datetime, sub: str | None, sid: str | None) -> int:
    """Act on a verified logout token: remember its ``jti``, end the sessions it names.

    ``sid`` names one session at the provider (of the user ``sub``, when both are given) and ends
    the Aether sessions opened from it; ``sub`` alone ends every session of that user. Returns how
    many ended (none is a success: the sessions may have ended already).

    The ``jti`` is inserted under a unique constraint in the same transaction, so a token that
    reaches two processes or replicas at once is acted on once: the other raises
    ``LogoutTokenReplayed`` having ended nothing. ``jti``\\ s past ``expires_at`` go first: their
    tokens are too old to be accepted any more.
    """
    ConsumedLogoutToken.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            ConsumedLogoutToken.objects.create(jti=jti, expires_at=expires_at)
    except IntegrityError as exc:
        raise LogoutTokenReplayed("This logout token was used before (its jti is known).") from exc
    sessions = BrowserSession.objects.all()
    if sid:
        sessions = sessions.filter(sid=sid)
    if sub:
        sessions = sessions.filter(user__sub=sub)
    return browser_sessions_end(sessions)


def _session_table_beside_records(store: SessionBase) -> type[Model] | None:
    """The model of a database-backed engine (db, cached_db) when its table sits beside the records."""
    if not isinstance(store, DatabaseSessionStore):
        return None
    model = type(store).get_model_class()
    return model if router.db_for_write(model) == router.db_for_write(BrowserSession) else None


def sessions_prune() -> tuple[int, int]:
    """Clear expired sessions and what refers to them; return (records, logout token ids) removed.

    Does what ``clearsessions`` does (the store's ``clear_expired``), then forgets the records of
    sessions the store no longer holds (expired, flushed, ended elsewhere) and drops logout-token
    ids past their expiry. With the sessions in a database table beside the records, one statement
    compares the two; any other engine is asked about each record's key, in batches by primary key.
    """
    store = session_store()
    type(store).clear_expired()
    table = _session_table_beside_records(store)
    if table is not None:
        held = table.objects.filter(session_key=OuterRef("session_key"))
        records = BrowserSession.objects.filter(~Exists(held)).delete()[0]
    else:
        records = _prune_records_by_key(store)
    tokens = ConsumedLogoutToken.objects.filter(expires_at__lt=timezone.now()).delete()[0]
    return records, tokens


def _prune_records_by_key(store: SessionBase) -> int:
    records = 0
    last_pk = 0
    while batch := list(
        BrowserSession.objects.filter(pk__gt=last_pk)
        .order_by("pk")
        .values_list("pk", "session_key")[:PRUNE_BATCH_SIZE]
    ):
        last_pk = batch[-1][0]
        gone = [pk for pk, key in batch if not store.exists(key)]
        if gone:
            records += BrowserSession.objects.filter(pk__in=gone).delete()[0]
    return records
