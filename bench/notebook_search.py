"""Time the notebook search on 100,000 notebooks in a scratch PostgreSQL database.

Usage (PostgreSQL on 127.0.0.1, trust auth; the database is dropped and created again)::

    .venv/bin/python bench/notebook_search.py [--database aether_bench] [--notebooks 100000] [--runs 21]

It migrates the scratch database, fills one organization space with the notebooks by COPY (the
worst case: every notebook in the searched space), then, for a rare and a common query, prints
``EXPLAIN ANALYZE`` of the page query the API runs and the median time of what one search request
costs (the count and the first page of 50), with the trigram index and without it.
"""

import argparse
import os
import random
import statistics
import string
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RARE_PHRASE = "getting started"
RARE_COUNT = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--database", default="aether_bench")
    parser.add_argument("--notebooks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    # It drops the database: only ever a scratch one.
    if not args.database.startswith("aether_bench"):
        parser.error(
            f"--database must start with 'aether_bench' (it is dropped and created); got {args.database!r}"
        )
    return args


def recreate_database(args: argparse.Namespace) -> None:
    with psycopg.connect(host=args.host, user=args.user, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def setup_django(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def vocabulary(rng: random.Random, size: int = 2000) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10))) for _ in range(size)]


def fill(space, owner, count: int) -> None:
    """COPY ``count`` notebooks of random words into ``space``; ``RARE_COUNT`` of them mention the phrase."""
    import json

    from django.db import connection

    from notebooks.models import notebook_search_text

    rng = random.Random(4)
    words = vocabulary(rng)
    rare = set(rng.sample(range(count), RARE_COUNT))
    columns = (
        "id, space_id, owner_id, name, description, tags, search_text, visibility, created_at, updated_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY notebooks_notebook ({columns}) FROM STDIN") as copy,
    ):
        for number in range(count):
            name = " ".join(rng.choices(words, k=3)).title()
            description = " ".join(rng.choices(words, k=12))
            if number in rare:
                description = f"{description} {RARE_PHRASE.title()} notes"
            tags = rng.sample(words, k=2)
            copy.write_row(
                (
                    uuid.uuid4(),
                    space.pk,
                    owner.pk,
                    name,
                    description,
                    json.dumps(tags),
                    # What Notebook.save() would store; COPY bypasses it.
                    notebook_search_text(name, description, tags),
                    "private",
                    "2026-01-01",
                    "2026-01-01",
                )
            )
    with connection.cursor() as cursor:
        # Spread updated_at so the page order is realistic, then give the planner fresh statistics.
        cursor.execute(
            "UPDATE notebooks_notebook SET updated_at = created_at + (random() * interval '300 days')"
        )
        cursor.execute("VACUUM ANALYZE notebooks_notebook")


def time_request(space, query: str, runs: int) -> tuple[float, int]:
    """Median milliseconds of one search request's queries (count + first page), and the count."""
    from notebooks.selectors import notebook_search

    durations, total = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        results = notebook_search(space, query)
        total = results.count()
        list(results[:50])
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations), total


def main() -> None:
    args = parse_args()
    recreate_database(args)
    setup_django(args)
    from django.db import connection, transaction

    from accounts.services import space_create_organization, user_create
    from notebooks.selectors import notebook_search

    owner = user_create(sub="bench", email="bench@example.com")
    space = space_create_organization(owner=owner, name="Bench")
    started = time.perf_counter()
    fill(space, owner, args.notebooks)
    print(f"filled {args.notebooks} notebooks in {time.perf_counter() - started:.1f} s")
    print(f"PostgreSQL: {connection.cursor().connection.info.server_version}")

    common_word = vocabulary(random.Random(4))[0]  # the fill's first word: in about 850 notebooks
    for query in (RARE_PHRASE, common_word):
        print(f"\n=== query {query!r} ===")
        print(notebook_search(space, query)[:50].explain(analyze=True, buffers=True))
        median, total = time_request(space, query, args.runs)
        print(
            f"with the trigram index: {total} matches, median {median:.1f} ms per request ({args.runs} runs)"
        )
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX notebook_search_trgm")
            median, total = time_request(space, query, args.runs)
            transaction.set_rollback(True)
        print(f"without it:             {total} matches, median {median:.1f} ms per request")


if __name__ == "__main__":
    main()
