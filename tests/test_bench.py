"""The benchmarks delete and create data: they run only against a scratch database."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_in_bench(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "bench",
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "aether.test_settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_scratch_set_up_refuses_a_database_not_named_for_benchmarks():
    result = run_in_bench(
        "import scratch; scratch.use_scratch_database('aether_bench'); print('migrated')",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/aether",
    )

    assert result.returncode == 1
    assert "Refusing to run" in result.stderr and "'aether'" in result.stderr
    assert "migrated" not in result.stdout


def test_the_search_benchmark_refuses_to_drop_a_database_not_named_for_benchmarks():
    result = run_in_bench(
        "import sys, notebook_search; sys.argv = ['x', '--database', 'aether']; notebook_search.parse_args()"
    )

    assert result.returncode == 2
    assert "--database must start with 'aether_bench'" in result.stderr
