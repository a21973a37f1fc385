"""A read compiled once answers, for any values, what its queryset built with those values answers."""

import uuid

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from aether.compiled_query import CompiledQuery
from onboarding.services import onboard_user

pytestmark = pytest.mark.postgres


def users_with_their_onboarding(*, user_id: object, email: str):
    """A read with a join, a JSON column (decoded by Django's converters) and an aggregate."""
    return (
        User.objects.filter(pk=user_id, email=email)
        .annotate(owned_space_count=Count("owned_spaces"))
        .values("id", "email", "onboarding__received", "onboarding__completed_at", "owned_space_count")
    )


def test_each_run_gives_the_rows_of_the_queryset_built_with_its_values(make_user):
    onboarded, newcomer = make_user(), make_user()
    onboard_user(user=onboarded, trigger="command")
    read = CompiledQuery(users_with_their_onboarding, user_id=uuid.uuid4(), email="marker@invalid")

    for user in (onboarded, newcomer, onboarded):
        assert read.rows(user_id=user.pk, email=user.email) == list(
            users_with_their_onboarding(user_id=user.pk, email=user.email)
        )
    found = read.first(user_id=onboarded.pk, email=onboarded.email)
    assert isinstance(found["onboarding__received"], dict) and found["onboarding__received"]
    assert found["owned_space_count"] == 1
    assert read.first(user_id=onboarded.pk, email="someone-else@example.com") is None


def test_the_queryset_is_built_and_compiled_once_and_the_same_sql_sent_each_time(make_user):
    built = []

    def build(*, user_id: object, email: str):
        built.append(user_id)
        return users_with_their_onboarding(user_id=user_id, email=email)

    read = CompiledQuery(build, user_id=uuid.uuid4(), email="marker@invalid")
    users = [make_user() for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        for user in users:
            read.rows(user_id=user.pk, email=user.email)

    assert len(built) == 1
    assert len({query["sql"].split(" WHERE ")[0] for query in queries.captured_queries}) == 1
    assert [user.pk.hex in query["sql"] for user, query in zip(users, queries, strict=True)] == [True] * 3


def test_a_marker_the_compiled_query_does_not_carry_is_refused(user):
    read = CompiledQuery(
        lambda *, user_id, unused: User.objects.filter(pk=user_id).values("id"),
        user_id=uuid.uuid4(),
        unused="never used in the query",
    )

    with pytest.raises(ValueError, match="unused"):
        read.rows(user_id=user.pk, unused="x")
