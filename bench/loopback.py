"""Servers a benchmark starts on this machine's loopback: a free port, and the wait until one answers."""

import socket
import subprocess
import sys
import time

import requests

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until_answering(process: subprocess.Popen, url: str, name: str, *, seconds: float = 30) -> None:
    """Wait until ``url`` answers at all; stop the run, killing ``process``, if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"{name} did not start")
