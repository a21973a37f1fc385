"""What sign-in reads and writes on its way: the user once, created with one INSERT, nothing re-read."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.services import user_create
from onboarding.models import OnboardingRun

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
# A statement finding users by sub or username (a sign-in's lookups), whatever else it reads.
USER_LOOKUP = re.compile(r'"accounts_user"\."(sub|username)"(::text)? (=|IN|LIKE)')


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def sql_of(action) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return [query["sql"] for query in queries.captured_queries]


def test_a_returning_bearer_call_reads_the_user_once_with_their_onboarding_state(client, keycloak_issuer):
    token = keycloak_issuer.access_token("kc-returning", name="Kay Cloak")
    assert client.get(ME, **bearer(token)).json()["onboarding_status"] == "completed"

    statements = sql_of(lambda: client.get(ME, **bearer(token)))

    user_rows = [sql for sql in statements if sql.startswith('SELECT "accounts_user"."password"')]
    assert len(user_rows) == 1 and "onboarding_useronboarding" in user_rows[0], statements
    # Whether onboarding completed is answered from that row: nothing asks the state table on its own.
    assert not [sql for sql in statements if 'FROM "onboarding_useronboarding"' in sql], statements
    assert OnboardingRun.objects.filter(user__sub="kc-returning").count() == 1


def test_a_bearer_call_reads_its_addresss_failures_with_the_user_one_statement_under_a_session_call(
    client, keycloak_issuer
):
    token = keycloak_issuer.access_token("kc-fewer")
    client.get(ME, **bearer(token))
    bearer_statements = sql_of(lambda: client.get(ME, **bearer(token)))
    client.force_login(User.objects.get(sub="kc-fewer"))

    session_statements = sql_of(lambda: client.get(ME))

    user_rows = [sql for sql in bearer_statements if sql.startswith('SELECT "accounts_user"."password"')]
    assert len(user_rows) == 1 and "throttling_throttlecount" in user_rows[0], bearer_statements
    assert not [sql for sql in bearer_statements if sql.startswith('SELECT "throttling_throttlecount"')]
    assert len(bearer_statements) == len(session_statements) - 1, (bearer_statements, session_statements)


def test_a_first_bearer_call_creates_the_user_with_one_insert_and_no_username_lookup(client, keycloak_issuer):
    token = keycloak_issuer.access_token("kc-new", preferred_username="kay")

    statements = sql_of(lambda: client.get(ME, **bearer(token)))

    # Looked up by sub, not found; then inserted, with no lookup of a free username. (Onboarding's own
    # read of what exists starts from the user's row by id, and is not a lookup of the sign-in.)
    lookups = [sql for sql in statements if USER_LOOKUP.search(sql)]
    assert len(lookups) == 1 and '"accounts_user"."sub"' in lookups[0], lookups
    inserts = [sql for sql in statements if sql.startswith('INSERT INTO "accounts_user"')]
    assert len(inserts) == 1, statements
    # A user the sign-in just created has not completed onboarding: nobody asks.
    assert not any(sql.startswith('SELECT 1 AS "a" FROM "onboarding_useronboarding"') for sql in statements)
    assert User.objects.get(sub="kc-new").username == "kay"


def test_a_bearer_call_that_completes_an_earlier_failed_onboarding_answers_completed(
    client, keycloak_issuer, fail_step, monkeypatch
):
    token = keycloak_issuer.access_token("kc-retry")
    fail_step("agent")
    assert client.get(ME, **bearer(token)).json()["onboarding_status"] == "failed"
    monkeypatch.undo()  # the agent step works again

    # The state read along with the user said "failed"; this call's run completes it.
    body = client.get(ME, **bearer(token)).json()

    assert body["onboarding_status"] == "completed"
    assert body["personal_space_id"] is not None


def test_a_taken_username_gets_the_next_free_one_inside_a_transaction():
    user_create(sub="first", email="sam@example.com")

    assert user_create(sub="second", email="sam@example.org").username == "sam-2"


@pytest.mark.django_db(transaction=True)
def test_a_taken_username_gets_the_next_free_one_in_autocommit_mode():
    user_create(sub="first", email="sam@example.com")

    second = user_create(sub="second", email="sam@example.org")

    assert second.username == "sam-2"
    assert User.objects.filter(username__startswith="sam").count() == 2
