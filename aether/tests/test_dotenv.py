"""``.env`` fills in what the environment leaves unset, and never overrides it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_wins_over_dotenv(tmp_path):
    # A copy of the settings module in a scratch tree, so that its .env is the test's, not a developer's.
    package = tmp_path / "aether"
    package.mkdir()
    for name in ("__init__.py", "settings.py", "env.py"):
        shutil.copy(ROOT / "aether" / name, package / name)
    (tmp_path / ".env").write_text(
        "DJANGO_DEBUG=true\nONBOARDING_TIMEOUT_SECONDS=3\nDOCUMENT_MAX_BYTES=1234\n", encoding="utf-8"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ONBOARDING_", "DOCUMENT_"))}

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import aether.settings as s; print(s.DEBUG, s.ONBOARDING_TIMEOUT_SECONDS, s.DOCUMENT_MAX_BYTES)",
        ],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(tmp_path), "ONBOARDING_TIMEOUT_SECONDS": "7"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "7", "1234"]
