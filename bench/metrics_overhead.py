"""What the Prometheus request metrics add to a request's latency, measured in one run (``make bench``).

Two gunicorn servers with one sync worker each serve the scratch database: one as deployed (the request
metrics middleware, multiprocess mode with its directory), one without the middleware
(``bench/metrics_off_settings.py``). Requests alternate between the two, so both see the same machine
load: the median and p95 latency of each, and what the metrics add, for the lightest route
(``/healthz``) and an authenticated API read (``/api/v1/users/me`` with a session). Then the same
routes go through Django's handler in this process, with and without the middleware, alternately: no
network and no second process, so what differs is the middleware's own work. Target: at most 5 % added
median latency under gunicorn. On a busy machine the gunicorn figures vary by more than the metrics cost.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import requests
from loopback import free_port, wait_until_answering
from scratch import ROOT
from table import Row, at_most, info

ROUNDS = 1000
TINY_ROUNDS = 20
TARGET_PERCENT = 5.0


def start_server(
    settings_module: str, metrics_dir: str | None, **environment: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # Plain http on loopback: the session cookie has to travel without TLS.
        "DJANGO_SECURE_COOKIES": "false",
        # gunicorn.conf.py: one sync worker each, the layout these figures were first measured with.
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKER_CLASS": "sync",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
        # The metrics are measured here, not the throttle: thousands of calls a minute stay unrefused.
        "API_THROTTLE": "1000000/min",
        **environment,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if metrics_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "aether.wsgi:application", "--config", "gunicorn.conf.py"),
            *("--pythonpath", str(ROOT / "bench")),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(process, f"{url}/healthz", f"gunicorn with {settings_module}")
    return process, url


def session_cookie() -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from accounts.services import user_create

    user = User.objects.filter(sub="bench-metrics").first() or user_create(
        sub="bench-metrics", email="bench-metrics@example.com", full_name="Bench Metrics"
    )
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def timed_get(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=10)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * len(values)) - 1]


def in_process(routes: dict[str, dict[str, str]], rounds: int) -> dict[tuple[str, str], list[float]]:
    """Each route through Django's own handler, with and without the middleware, in this process.

    No network, no second process: what is left is the middleware's own work (in this process's mode:
    single-process unless PROMETHEUS_MULTIPROC_DIR was set for ``make bench``).
    """
    from django.conf import settings
    from django.test import Client, override_settings

    from aether.env import Rate

    middleware = "aether.metrics.middleware.RequestMetricsMiddleware"
    clients = {"with metrics": Client(), "without metrics": Client()}

    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != middleware]):
        clients["without metrics"].handler.load_middleware()
    clients["with metrics"].handler.load_middleware()
    latencies: dict[tuple[str, str], list[float]] = {
        (name, route): [] for name in clients for route in routes
    }
    # The metrics are measured here, not the throttle: thousands of calls a minute stay unrefused.
    with override_settings(API_THROTTLE=Rate(1_000_000, 60)):
        for round_number in range(rounds * 2 + 50):
            order = list(clients) if round_number % 2 == 0 else list(reversed(clients))
            for route, cookies in routes.items():
                for name in order:
                    client = clients[name]
                    for cookie, value in cookies.items():
                        client.cookies[cookie] = value
                    started = time.perf_counter()
                    response = client.get(route, HTTP_HOST="127.0.0.1")
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, (route, response.status_code)
                    if round_number >= 50:  # after a warm-up
                        latencies[name, route].append(elapsed)
    return latencies


def measure(url: str, tiny: bool) -> list[Row]:
    rounds = TINY_ROUNDS if tiny else ROUNDS
    routes = {"/healthz": {}, "/api/v1/users/me": session_cookie()}
    with tempfile.TemporaryDirectory(prefix="aether-metrics-") as metrics_dir:
        served = under_gunicorn(routes, metrics_dir, rounds)
    handled = in_process(routes, rounds)
    rows = []
    for route in routes:
        rows += _rows(f"{route} under gunicorn", served, route, target=True)
        rows += _rows(f"{route} in one process", handled, route, target=False)
    return rows


def _rows(
    where: str, latencies: dict[tuple[str, str], list[float]], route: str, *, target: bool
) -> list[Row]:
    without, with_ = latencies["without metrics", route], latencies["with metrics", route]
    base, cost = statistics.median(without), statistics.median(with_)
    added = 100 * (cost - base) / base
    figures = info(
        f"metrics: {where}, median/p95 without -> with",
        f"{base:.2f}/{p95(without):.2f} -> {cost:.2f}/{p95(with_):.2f} ms",
    )
    measure = f"metrics: added median latency, {where}"
    return [
        figures,
        at_most(measure, added, TARGET_PERCENT, " %") if target else info(measure, f"{added:+.1f} %"),
    ]


def under_gunicorn(
    routes: dict[str, dict[str, str]], metrics_dir: str, rounds: int
) -> dict[tuple[str, str], list[float]]:
    servers = {
        "without metrics": start_server("metrics_off_settings", None),
        "with metrics": start_server("aether.settings", metrics_dir),
    }
    try:
        latencies: dict[tuple[str, str], list[float]] = {}
        sessions = {}
        for name, (_, url) in servers.items():
            for route, route_cookies in routes.items():
                session = requests.Session()
                session.cookies.update(route_cookies)
                sessions[name, route] = (session, f"{url}{route}")
                latencies[name, route] = []
                for _ in range(20):  # warm up: imports, connections, caches
                    timed_get(session, f"{url}{route}")
        for round_number in range(rounds):
            # Alternate which server goes first, so neither always follows the other.
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for route in routes:
                for name in order:
                    session, url = sessions[name, route]
                    latencies[name, route].append(timed_get(session, url))
    finally:
        for process, _ in servers.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
    return latencies
