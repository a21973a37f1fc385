"""What the Prometheus request metrics add to a request's latency, measured under gunicorn in one run.

    .venv/bin/python bench/metrics_overhead.py   # DATABASE_URL defaults to .../aether_bench_observability

Two gunicorn servers with one sync worker each serve the same scratch database: one as deployed (the
request metrics middleware, multiprocess mode with its directory), one without the middleware
(``bench/metrics_off_settings.py``). Requests alternate between the two, so both see the same machine
load, and the script prints the median and p95 latency of each, and what the metrics add, for the
lightest route (``/healthz``) and an authenticated API read (``/api/v1/users/me`` with a session).
Then the same routes go through Django's handler in this process, with and without the middleware,
alternately: no network and no scheduling between processes, so what differs is the middleware's own
work (multiprocess writes included). Target: at most 5 % added median latency. Compare figures from
one run only; on a busy machine the gunicorn figures vary by more than the metrics cost.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests
from scratch import ROOT, recreate_database, scratch_url, setup_django

ROUNDS = int(os.environ.get("BENCH_REQUESTS", "1000"))
TARGET_PERCENT = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(settings_module: str, metrics_dir: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if metrics_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "aether.wsgi:application", "--config", "gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--pythonpath", str(ROOT / "bench")),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=2)
            return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"gunicorn with {settings_module} did not start")


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


def in_process(routes: dict[str, dict[str, str]]) -> dict[tuple[str, str], list[float]]:
    """Each route through Django's own handler, with and without the middleware, in this process.

    No network, no second process: what is left is the middleware's own work, multiprocess writes included.
    """
    from django.conf import settings
    from django.test import Client, override_settings

    middleware = "aether.metrics.middleware.RequestMetricsMiddleware"
    clients = {"with metrics": Client(), "without metrics": Client()}

    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != middleware]):
        clients["without metrics"].handler.load_middleware()
    clients["with metrics"].handler.load_middleware()
    latencies: dict[tuple[str, str], list[float]] = {
        (name, route): [] for name in clients for route in routes
    }
    for round_number in range(ROUNDS * 2 + 50):
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


def report(title: str, latencies: dict[tuple[str, str], list[float]], routes) -> None:
    print(title)
    print(f"  {'route':<18} {'without (median/p95)':>22} {'with (median/p95)':>20} {'added median':>17}")
    for route in routes:
        without, with_ = latencies["without metrics", route], latencies["with metrics", route]
        base, cost = statistics.median(without), statistics.median(with_)
        added = cost - base
        print(
            f"  {route:<18} {base:>9.3f} / {p95(without):>6.3f} ms {cost:>8.3f} / {p95(with_):>6.3f} ms "
            f"{added:>+8.3f} ms {100 * added / base:>+5.1f} %"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aether-metrics-") as metrics_dir:
        # Before Django (and the Prometheus client) is imported: this process records in multiprocess mode.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        os.environ.setdefault(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether_bench_observability"
        )
        url = scratch_url()
        recreate_database(url)
        setup_django(url)
        cookies = session_cookie()
        routes = {"/healthz": {}, "/api/v1/users/me": cookies}
        served = under_gunicorn(routes, metrics_dir)
        handled = in_process(routes)

    report(
        f"Under gunicorn, one sync worker per server, {ROUNDS} requests per route and server:", served, routes
    )
    report(
        f"In one process, Django's handler with and without the middleware, {2 * ROUNDS} requests:",
        handled,
        routes,
    )
    print(f"Target: at most {TARGET_PERCENT:.0f} % added median latency.")


def under_gunicorn(routes: dict[str, dict[str, str]], metrics_dir: str) -> dict[tuple[str, str], list[float]]:
    servers = {
        "without metrics": start_server("metrics_off_settings", None),
        "with metrics": start_server("aether.test_settings", metrics_dir),
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
        for round_number in range(ROUNDS):
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


if __name__ == "__main__":
    main()
