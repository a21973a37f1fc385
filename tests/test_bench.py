"""The benchmarks run, once and on tiny sizes, so none of them rots; and only against a scratch database.

What they measure is not checked here (speed is never asserted by the suite): only that every
benchmark still runs to its end and prints its rows, and that the statement counts, which do not
depend on the machine, meet their target.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str, script: str = "bench/run.py", **env: str) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script as ``make bench`` does: production settings, nothing of the suite's."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def scratch_url(db) -> str:
    """A scratch database of this test's own, next to the test database, dropped afterwards."""
    settings = connection.settings_dict
    name = f"aether_bench_test_{settings['NAME']}"[:63]
    url = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"
    yield url
    server = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_every_benchmark_runs_on_tiny_sizes_and_prints_one_table(scratch_url):
    result = run_bench("--tiny", BENCH_DATABASE_URL=scratch_url)

    # 1: a figure missed its target (timings on three runs are noise); anything else is a crash.
    assert result.returncode in {0, 1}, result.stderr
    table = result.stdout
    assert re.search(r"^measure\s+figure\s+target\s+result$", table, re.MULTILINE)
    for measure in (
        "statements, first onboarding, 3 documents",
        "statements, first onboarding, 30 documents",
        "onboard_user / floor, 3 documents",
        "raw-SQL floor median, 30 documents",
        "WAL per first onboarding, 3 documents",
        "concurrent first runs for one user",
        "onboard_user --all-incomplete",
        "users, one worker (db_worker in-process)",
        "roll-out: statements per user",
        "search 'getting started'",
        "sessions: logout by sub",
        "sessions: prune_sessions",
        "metrics: added median latency, /api/v1/users/me under gunicorn",
        "throttle: added median latency under gunicorn",
        "stock DRF throttle on DatabaseCache: statements per request",
        "returning call, JWT / session",
        "first bearer call minus returning, over the floor",
        "web callback, new / returning user",
        "load: new users/s, 10 new users, 2 clients",
        "load: p99 latency, 10 new users, 2 clients",
        "load: largest worker RSS after the run",
    ):
        assert measure in table, f"{measure!r} missing from:\n{table}"
    statement_rows = [line for line in table.splitlines() if line.startswith("statements, first onboarding")]
    assert len(statement_rows) == 2 and all(line.endswith("pass") for line in statement_rows), table
    concurrent = next(line for line in table.splitlines() if "concurrent first runs" in line)
    assert concurrent.endswith("pass"), table
    # The throttle's statements, the returning bearer call's, and under load every new user's first
    # call answered and onboarded them once, whatever the speed.
    for measure in (
        "throttle: statements added to a served API request",
        "shared counter:",
        "statements, returning bearer call (JWT)",
        "load: errors,",
        "load: users onboarded once",
    ):
        row = next(line for line in table.splitlines() if line.startswith(measure))
        assert row.endswith("pass"), table


def test_the_benchmarks_refuse_a_database_not_named_for_them():
    result = run_bench("--tiny", BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/aether")

    assert result.returncode == 1
    assert "Refusing to run" in result.stderr and "'aether'" in result.stderr
    assert "measure" not in result.stdout


def test_an_unknown_benchmark_is_named():
    result = run_bench("onboarding_speed")

    assert result.returncode == 2
    assert "unknown benchmark: onboarding_speed" in result.stderr


@pytest.mark.postgres
def test_the_profile_of_first_onboardings_runs(scratch_url):
    result = run_bench("--users", "3", script="bench/profile_onboarding.py", BENCH_DATABASE_URL=scratch_url)

    assert result.returncode == 0, result.stderr
    assert "onboard_user" in result.stdout


@pytest.mark.postgres
def test_the_cpu_per_statement_of_first_onboardings_is_printed(scratch_url):
    result = run_bench(
        "--statements", "--users", "3", script="bench/profile_onboarding.py", BENCH_DATABASE_URL=scratch_url
    )

    assert result.returncode == 0, result.stderr
    assert "CPU of this process per first onboarding" in result.stdout
    assert 'INSERT INTO "onboarding_onboardingrun"' in result.stdout


@pytest.mark.postgres
def test_the_comparison_of_gunicorn_layouts_runs(scratch_url):
    result = run_bench(
        "--rounds", "1", "--tiny", script="bench/gunicorn_layouts.py", BENCH_DATABASE_URL=scratch_url
    )

    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "workers x" in line]
    # Each layout's gunicorn says it runs what the layout asked for.
    assert [row.split(" | ")[1] for row in rows] == [
        "2 sync workers x 1 threads",
        "2 gthread workers x 4 threads",
    ], result.stdout
