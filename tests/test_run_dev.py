"""``scripts/run-dev`` (``make run``) when the development provider never becomes ready."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Stands in for the virtualenv's python, so that the script's own logic runs without a real
# provider or server: the port is free, the provider process starts but never answers, and the app
# would start (and say so) if the script let it.
FAKE_PYTHON = """#!/usr/bin/env bash
case "$*" in
  *connect_ex*) exit 1 ;;
  *json.dumps*) echo '{"sub": "staff@example.com"}'; exit 0 ;;
  *"-m oidc_provider_mock"*) echo "provider: listening nowhere"; exec sleep 60 ;;
  *urlopen*) exit 1 ;;
  *manage.py*) echo "APP STARTED"; exit 0 ;;
esac
exit 2
"""


def test_run_dev_fails_with_the_provider_log_when_the_provider_never_answers(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-dev", tmp_path / "scripts" / "run-dev")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run-dev")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "did not answer" in result.stderr
    assert "provider: listening nowhere" in result.stderr
    assert "APP STARTED" not in result.stdout
