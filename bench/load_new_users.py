"""New users under load: gunicorn as deployed, 500 first bearer calls from 32 concurrent clients.

gunicorn starts with ``gunicorn.conf.py`` (every ``GUNICORN_*`` variable of this process's environment
passes through, so ``GUNICORN_WORKER_CLASS=sync GUNICORN_WORKERS=4 bench/run.py load_new_users``
measures another layout) on a free loopback port, against a scratch database of its own, freshly
migrated, with production settings and its logs written to a file as a container's would be.

Tokens: the benchmark is its own OpenID issuer on loopback (discovery and JWKS for an RSA key it
generates) and signs the RS256 access tokens itself, before the clock starts, so what is measured is
Aether: each worker fetches the JWKS once and verifies every token locally.

The load generator runs on the same machine: ``CLIENT_PROCESSES`` processes, each with its share of the
32 clients as threads, and each client one keep-alive HTTP/1.1 connection (``http.client``; a sync
worker closes the connection after every answer, and the client opens a new one). Processes, so that
the generator is not held to one core by its own GIL; plain ``http.client``, so that a request costs
it a fraction of what it costs the server (its CPU time is reported next to the server's).

Phase 1: each of 500 new users calls ``GET /api/v1/users/me`` once: the call creates the user and
onboards them before it answers. Phase 2: the same users call again, ``RETURNING_CALLS`` calls in all.
Then every user must have exactly one completed onboarding, and the RSS of each worker is read.
"""

import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric import rsa
from scratch import ROOT, drop_database, recreate_database, sibling_url
from table import Row, at_least, at_most, info

USERS, CLIENTS = 500, 32
TINY_USERS, TINY_CLIENTS = 10, 2
RETURNING_CALLS = 2000
CLIENT_PROCESSES = 4
CLIENT_ID = "aether-bench"
ROUTE = "/api/v1/users/me"

TARGET_USERS_PER_SECOND = 200
TARGET_P99_MS = 400
TARGET_RSS_MB = 150


# --- the issuer ------------------------------------------------------------------------------------


class Issuer:
    """An OpenID issuer on loopback: discovery and JWKS for one RSA key; signs access tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:12]
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                documents = {
                    "/.well-known/openid-configuration": issuer.discovery(),
                    "/certs": issuer.jwks(),
                }
                body = documents.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body or {}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/auth",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/certs",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def access_token(self, sub: str) -> str:
        """An access token as Keycloak shapes one for this client, valid for an hour."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": sub,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "typ": "Bearer",
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
            "scope": "openid email profile",
            "email": f"{sub}@example.com",
            "email_verified": True,
            "preferred_username": sub,
            "name": f"Load {sub}",
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        pids = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        return sorted(pids)

    def layout(self) -> str:
        """What gunicorn said it runs (``when_ready`` in gunicorn.conf.py): workers of a class x threads."""
        for line in self.log.read_text(errors="replace").splitlines():
            if "Serving " in line and " workers x " in line:
                return line.split(" with ", 1)[1].split(" (", 1)[0]
        return "unknown"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(database_url: str, issuer: Issuer, log: Path, **variables: str) -> Server:
    """gunicorn with ``gunicorn.conf.py``, this process's ``GUNICORN_*`` variables and ``variables``."""
    port = free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "OIDC_", "DATABASE_", "PROMETHEUS_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="aether.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="benchmark-load-key-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        OIDC_ISSUER=issuer.url,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET="benchmark-load-secret",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        # Each thread's connection lives through the whole run, as it does through a short one by default
        # (60 s): the CPU of its PostgreSQL backend is read at the end, and a backend replaced midway on a
        # slow machine would take its CPU time with it.
        DATABASE_CONN_MAX_AGE="3600",
        # Prometheus's multiprocess mode, as in the image: its files in a directory of this server's.
        PROMETHEUS_MULTIPROC_DIR=str(log.with_suffix(".metrics")),
        **variables,
    )
    Path(environment["PROMETHEUS_MULTIPROC_DIR"]).mkdir(exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            sys.exit(f"gunicorn stopped at start:\n{log.read_text(errors='replace')}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            sys.exit(f"gunicorn did not answer /healthz within 60 s:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def migrate(database_url: str) -> None:
    """Create the server's own database, empty, and apply the migrations in a process of its own."""
    recreate_database(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "benchmark-load-key-" + "x" * 40,
        },
        check=True,
    )


# --- the clients -----------------------------------------------------------------------------------


def _client(port: int, tokens: list[str], results: list) -> None:
    """One client: its tokens one after the other, on one keep-alive connection (reopened when closed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for token in tokens:
        started = time.perf_counter()
        try:
            connection.request("GET", ROUTE, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            status = f"{type(exc).__name__}: {exc}"
        results.append((started, time.perf_counter(), status))
    connection.close()


def _client_process(port: int, shares: list[list[str]], start_at: float, queue) -> None:
    """One load-generating process: one thread per client, all starting at ``start_at``."""
    results: list = []
    threads = [threading.Thread(target=_client, args=(port, share, results)) for share in shares]
    time.sleep(max(0.0, start_at - time.time()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = os.times()
    queue.put((results, cpu.user + cpu.system))


@dataclass
class Phase:
    seconds: float
    latencies_ms: list[float]
    errors: dict[str, int]
    generator_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_clients(port: int, tokens: list[str], clients: int) -> Phase:
    """``tokens`` split over ``clients`` clients in up to ``CLIENT_PROCESSES`` processes; all their calls."""
    shares = [tokens[number::clients] for number in range(clients)]
    processes = min(CLIENT_PROCESSES, clients)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 0.5
    workers = [
        context.Process(target=_client_process, args=(port, shares[number::processes], start_at, queue))
        for number in range(processes)
    ]
    for worker in workers:
        worker.start()
    results, generator_cpu = [], 0.0
    for _ in workers:
        part, cpu = queue.get()
        results += part
        generator_cpu += cpu
    for worker in workers:
        worker.join()
    first = min(started for started, _, _ in results)
    last = max(finished for _, finished, _ in results)
    errors: dict[str, int] = {}
    for _, _, status in results:
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
    return Phase(
        seconds=last - first,
        latencies_ms=[(finished - started) * 1000 for started, finished, _ in results],
        errors=errors,
        generator_cpu_seconds=generator_cpu,
    )


# --- what the server used ----------------------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` so far (processes that ended count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def backends(database_url: str) -> list[int]:
    """The PostgreSQL backends serving ``database_url``'s database, except the one asking."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def row_counts(database_url: str) -> dict[str, int]:
    """Rows in each table of the database (exact counts: the statistics views lag behind)."""
    with psycopg.connect(database_url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}


def rows_per_user(before: dict[str, int], after: dict[str, int], users: int) -> str:
    """Rows added per user, in all and in how many tables; each table's share goes to standard error."""
    added = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    listed = ", ".join(f"{name} {count / users:g}" for name, count in sorted(added.items()))
    print(f"load_new_users: rows per new user: {listed}", file=sys.stderr, flush=True)
    return f"{sum(added.values()) / users:g} in {len(added)} tables"


def onboardings(database_url: str) -> tuple[int, int]:
    """(users, users with exactly one completed run and one notebook)."""
    with psycopg.connect(database_url) as conn:
        (users,) = conn.execute("SELECT count(*) FROM accounts_user WHERE sub LIKE 'load-%'").fetchone()
        (complete,) = conn.execute(
            """
            SELECT count(*) FROM accounts_user u
            WHERE u.sub LIKE 'load-%'
              AND (SELECT count(*) FROM onboarding_onboardingrun r
                   WHERE r.user_id = u.id AND r.status = 'completed') = 1
              AND (SELECT count(*) FROM notebooks_notebook n WHERE n.owner_id = u.id) = 1
            """
        ).fetchone()
    return users, complete


# --- the measure ----------------------------------------------------------------------------------


def measure(url: str, tiny: bool) -> list[Row]:
    users, clients = (TINY_USERS, TINY_CLIENTS) if tiny else (USERS, CLIENTS)
    returning_calls = users * 2 if tiny else RETURNING_CALLS
    database_url = sibling_url(url, "load")
    migrate(database_url)
    issuer = Issuer()
    tag = uuid.uuid4().hex[:8]
    tokens = [issuer.access_token(f"load-{tag}-{number}") for number in range(users)]
    # Not counted: one user's calls, so that every worker has imported the API, connected to the
    # database and fetched the JWKS before the clock starts, as a server that has run a while has.
    warm_up = [issuer.access_token(f"warm-up-{tag}")] * clients * 2
    with tempfile.TemporaryDirectory(prefix="aether-load-") as directory:
        server = start_server(database_url, issuer, Path(directory) / "gunicorn.log")
        try:
            run_clients(server.port, warm_up, clients)
            rows = _measure(server, database_url, tokens, clients, returning_calls)
        finally:
            server.stop()
            issuer.stop()
            drop_database(database_url)
    return rows


def _measure(
    server: Server, database_url: str, tokens: list[str], clients: int, returning_calls: int
) -> list[Row]:
    workers = server.workers()
    rows_before = row_counts(database_url)
    before = cpu_seconds(workers)
    new = run_clients(server.port, tokens, clients)
    server_cpu = cpu_seconds(workers) - before
    rows = rows_per_user(rows_before, row_counts(database_url), len(tokens))
    database_pids = backends(database_url)
    database_cpu = cpu_seconds(database_pids)
    users, complete = onboardings(database_url)

    returning_tokens = [tokens[number % len(tokens)] for number in range(returning_calls)]
    before_returning = cpu_seconds(workers), cpu_seconds(database_pids)
    returning = run_clients(server.port, returning_tokens, clients)
    returning_server_cpu = cpu_seconds(workers) - before_returning[0]
    returning_database_cpu = cpu_seconds(database_pids) - before_returning[1]
    rss = [rss_mb(pid) for pid in server.workers()]

    count = len(tokens)
    label = f"{count} new users, {clients} clients"
    new_cpu_ms = 1000 * (server_cpu + database_cpu) / count
    returning_cpu_ms = 1000 * (returning_server_cpu + returning_database_cpu) / returning_calls
    return [
        info("load: server", server.layout()),
        at_least(f"load: new users/s, {label}", new.per_second, TARGET_USERS_PER_SECOND, "/s"),
        info(f"load: p50 latency, {label}", f"{new.percentile(0.50):.0f} ms"),
        at_most(f"load: p99 latency, {label}", new.percentile(0.99), TARGET_P99_MS, " ms", digits=0),
        Row(
            f"load: errors, {label}",
            str(sum(new.errors.values())) + (f" {new.errors}" if new.errors else ""),
            "0",
            not new.errors,
        ),
        Row(
            "load: users onboarded once (1 completed run, 1 notebook)",
            f"{complete} of {users}",
            f"{count} of {count}",
            users == complete == count,
        ),
        info("load: rows written per new user (table rows)", rows),
        info(
            "load: CPU per new user (gunicorn + PostgreSQL)",
            f"{new_cpu_ms:.1f} ms ({server_cpu:.1f} s + {database_cpu:.1f} s), "
            f"{1000 / new_cpu_ms:.0f} users per CPU-second",
        ),
        info(
            f"load: returning calls/s, {returning_calls} calls, {clients} clients",
            f"{returning.per_second:.0f}/s, p50 {returning.percentile(0.5):.0f} ms, "
            f"p99 {returning.percentile(0.99):.0f} ms, errors {sum(returning.errors.values())}",
        ),
        info(
            "load: CPU per returning call (gunicorn + PostgreSQL)",
            f"{returning_cpu_ms:.2f} ms ({returning_server_cpu:.1f} s + {returning_database_cpu:.1f} s), "
            f"{1000 / returning_cpu_ms:.0f} calls per CPU-second",
        ),
        info(
            "load: load generator CPU (new users, returning)",
            f"{new.generator_cpu_seconds:.1f} s of {new.seconds:.1f} s, "
            f"{returning.generator_cpu_seconds:.1f} s of {returning.seconds:.1f} s",
        ),
        info("load: worker RSS after the run", ", ".join(f"{value:.0f} MB" for value in rss)),
        at_most("load: largest worker RSS after the run", max(rss), TARGET_RSS_MB, " MB", digits=0),
        info("load: machine load average after the run", " ".join(f"{v:.2f}" for v in os.getloadavg())),
    ]
