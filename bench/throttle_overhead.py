"""What the shared throttle costs a request, and what DRF's stock throttle on the database cache would.

* Statements: one authenticated API read (``/api/v1/users/me``, session) through Django's handler in
  this process, the statements on the throttle's table counted: a served request adds one (the upsert
  that also reads the previous window), a refused one two (the upsert, then taking it back).
* Latency: two gunicorn servers with one sync worker each serve the scratch database, one as deployed
  and one without the API's throttle (``bench/throttle_off_settings.py``); requests alternate between
  them, so both see the same machine load: median and p95 of each, and what the throttle adds.
* The alternative: DRF's ``SimpleRateThrottle`` on Django's ``DatabaseCache``, which reads the client's
  list of timestamps and writes it back. Its statements and time per request (alternating with the
  counter's, in this process), and what it records when 8 threads (each its own connection) throttle
  the same client at once, against this counter in the same run.
"""

import statistics
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import requests
from metrics_overhead import p95, session_cookie, start_server, timed_get
from table import Row, at_most, info, median, milliseconds

ROUNDS = 1000
TINY_ROUNDS = 20
ROUTE = "/api/v1/users/me"
THREADS = 8
PER_THREAD = 25
TINY_PER_THREAD = 5
# High enough that the latency runs are never refused.
UNREFUSED = {"API_THROTTLE": "1000000/min"}


def _throttle_statements(queries: list[dict]) -> int:
    return sum("throttling_throttlecount" in query["sql"] for query in queries)


def statements() -> list[Row]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from accounts.api.views import UserMeView
    from aether.env import Rate

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_cookie()[settings.SESSION_COOKIE_NAME]

    def get() -> list[dict]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(ROUTE, HTTP_HOST="127.0.0.1")
        assert response.status_code in {200, 429}, response.status_code
        return captured.captured_queries

    get()  # warm up (and the process's first pruning of expired windows)
    with override_settings(API_THROTTLE=Rate(1_000_000, 60)):
        served = get()
    with mock.patch.object(UserMeView, "throttle_classes", ()):
        unthrottled = get()
    with override_settings(API_THROTTLE=Rate(1, 86400)):
        get()
        refused = get()
    added = len(served) - len(unthrottled)
    on_table = f"{_throttle_statements(served)} / {_throttle_statements(refused)}"
    return [
        at_most("throttle: statements added to a served API request", added, 1, "", 0),
        info("throttle: statements on its table, served / refused request", on_table),
    ]


def under_gunicorn(rounds: int) -> list[Row]:
    cookies = session_cookie()
    servers = {
        "without throttle": start_server("throttle_off_settings", None, **UNREFUSED),
        "with throttle": start_server("aether.settings", None, **UNREFUSED),
    }
    latencies: dict[str, list[float]] = {name: [] for name in servers}
    try:
        sessions = {}
        for name, (_, url) in servers.items():
            session = requests.Session()
            session.cookies.update(cookies)
            sessions[name] = (session, f"{url}{ROUTE}")
            for _ in range(20):  # warm up: imports, connections, caches
                timed_get(session, f"{url}{ROUTE}")
        for round_number in range(rounds):
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for name in order:
                latencies[name].append(timed_get(*sessions[name]))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=15)
    without, with_ = latencies["without throttle"], latencies["with throttle"]
    base, cost = statistics.median(without), statistics.median(with_)
    return [
        info(f"throttle: {ROUTE} under gunicorn, median/p95 without -> with",
             f"{base:.2f}/{p95(without):.2f} -> {cost:.2f}/{p95(with_):.2f} ms"),
        info("throttle: added median latency under gunicorn",
             f"{cost - base:+.2f} ms ({100 * (cost - base) / base:+.1f} %)"),
    ]  # fmt: skip


def _at_once(per_thread: int, hit) -> None:
    """``hit()`` ``per_thread`` times in each of THREADS threads started together, each its own connection."""
    from django.db import connections

    barrier = threading.Barrier(THREADS)

    def run(_: int) -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                hit()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(run, range(THREADS)))


def stock_throttle(per_thread: int, rounds: int) -> list[Row]:
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext
    from rest_framework.throttling import SimpleRateThrottle

    from aether.env import Rate
    from aether.throttling.counter import count_request
    from aether.throttling.models import ThrottleCount

    database_cache = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "bench_throttle"}
    with override_settings(CACHES={**settings.CACHES, "throttle": database_cache}):
        call_command("createcachetable", verbosity=0)

        class StockThrottle(SimpleRateThrottle):
            cache = caches["throttle"]
            rate = "1000000/hour"

            def get_cache_key(self, request, view) -> str:
                return "bench-one-client"

        StockThrottle().allow_request(None, None)
        with CaptureQueriesContext(connection) as captured:
            StockThrottle().allow_request(None, None)
        # One request's throttling alone, in this process, alternately: the stock throttle, the counter.
        rate = Rate(1_000_000, 3600)
        stock_times, counter_times = [], []
        for _ in range(rounds):
            stock_times.append(milliseconds(lambda: StockThrottle().allow_request(None, None)))
            counter_times.append(milliseconds(lambda: count_request(key="bench-timed", rate=rate)))
        StockThrottle.cache.clear()
        _at_once(per_thread, lambda: StockThrottle().allow_request(None, None))
        recorded = len(StockThrottle.cache.get("bench-one-client", []))

    _at_once(per_thread, lambda: count_request(key="bench-one-client", rate=rate))
    counted = ThrottleCount.objects.get(key="bench-one-client").hits
    sent = THREADS * per_thread
    stock = "stock DRF throttle on DatabaseCache"
    return [
        info(f"{stock}: statements per request", str(len(captured.captured_queries))),
        info(f"{stock} -> shared counter: one request, median/p95",
             f"{median(stock_times):.3f}/{p95(stock_times):.3f} -> "
             f"{median(counter_times):.3f}/{p95(counter_times):.3f} ms"),
        info(f"{stock}: {sent} requests at once, recorded", str(recorded)),
        at_most(f"shared counter: {sent} requests at once, lost", sent - counted, 0, "", 0),
    ]  # fmt: skip


def measure(url: str, tiny: bool) -> list[Row]:
    rows = statements()
    rows += under_gunicorn(TINY_ROUNDS if tiny else ROUNDS)
    rows += stock_throttle(TINY_PER_THREAD if tiny else PER_THREAD, TINY_ROUNDS if tiny else ROUNDS)
    return rows
