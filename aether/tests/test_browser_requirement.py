"""Without Chromium the browser tests skip on a developer's machine and fail in CI."""

import pytest

from tests import signin as testing


def test_missing_chromium_skips_outside_ci_and_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(testing, "CHROMIUM", str(tmp_path / "no-chromium-here"))

    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        testing.require_chromium()

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        testing.require_chromium()


def test_present_chromium_lets_the_browser_tests_run(monkeypatch, tmp_path):
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    monkeypatch.setattr(testing, "CHROMIUM", str(chromium))
    monkeypatch.setenv("CI", "true")

    testing.require_chromium()
