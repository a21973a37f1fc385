"""Bad input, sent to the real app under gunicorn: a clear 4xx for each, nothing stored, never a 5xx.

Requests are written byte by byte on a socket, so that header values no HTTP client would send (a NUL,
an escape sequence, raw non-ASCII bytes) reach the server as an attacker would send them. One
gunicorn serves the whole module; each test signs Ada in with a session of its own.
"""

import json
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.models import User
from aether.request_id import REQUEST_ID_PATTERN
from notebooks.models import Agent, Document, Notebook
from tests.gunicorn import GunicornServer, launch, stop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CSRF_TOKEN = "b" * 32
DEPTH = 10_000
NEW_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[GunicornServer]:
    with django_db_blocker.unblock():
        # Connections close after each request: nothing holds the tables the tests empty.
        started = launch(tmp_path_factory.mktemp("gunicorn"), DATABASE_CONN_MAX_AGE="0")
    yield started
    stop(started.process)


@dataclass
class Caller:
    """Ada, signed in, sending raw requests to ``server``."""

    server: GunicornServer
    session_key: str

    def send(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> Answer:
        address = urlsplit(self.server.url)
        cookie = f"sessionid={self.session_key}; csrftoken={CSRF_TOKEN}".encode()
        lines = [
            f"{method} {path} HTTP/1.1".encode(),
            f"Host: {address.netloc}".encode(),
            b"Cookie: " + cookie,
            b"X-CSRFToken: " + CSRF_TOKEN.encode(),
            b"Connection: close",
            *(name + b": " + value for name, value in headers),
        ]
        if body:
            lines.append(f"Content-Length: {len(body)}".encode())
        request = b"\r\n".join(lines) + b"\r\n\r\n" + body
        with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
            sock.sendall(request)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        head, _, answer_body = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        answer_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        return Answer(status=int(status_line.split()[1]), headers=answer_headers, body=answer_body)

    def post_json(self, path: str, body: bytes, *, method: str = "POST", headers=()) -> Answer:
        return self.send(method, path, [(b"Content-Type", b"application/json"), *headers], body)


@pytest.fixture
def ada_calls(server, ada) -> Caller:
    browser = Client()
    browser.force_login(ada)
    return Caller(server=server, session_key=browser.cookies["sessionid"].value)


def stored() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "notebooks": Notebook.objects.count(),
        "documents": Document.objects.count(),
        "agents": Agent.objects.count(),
    }


def assert_no_server_error(server: GunicornServer) -> None:
    text = server.log_text()
    assert "Internal Server Error" not in text
    assert not re.search(r'HTTP/1\.[01]" 5\d\d ', text), "a 5xx in the access log"


# --- Headers over gunicorn's limits -------------------------------------------------------------------

HEADER_LIMITS = {
    "a header of 9,000 bytes": (431, b"/api/v1/users/me", [(b"X-Filler", b"a" * 9_000)]),
    "150 headers": (431, b"/api/v1/users/me", [(f"X-Filler-{n}".encode(), b"a") for n in range(150)]),
    "a request line of 10,000 bytes": (414, b"/api/v1/notebooks/search?query=" + b"a" * 10_000, []),
    "a cookie of 20,000 bytes": (431, b"/", [(b"Cookie", b"c=" + b"x" * 20_000)]),
}


@pytest.mark.parametrize("case", HEADER_LIMITS, ids=list(HEADER_LIMITS))
def test_headers_over_gunicorns_limits_answer_414_or_431(ada_calls, server, case):
    status, path, headers = HEADER_LIMITS[case]

    answer = ada_calls.send("GET", path.decode(), headers)

    assert answer.status == status, (answer.status, answer.body[:200])
    assert_no_server_error(server)


# --- X-Space-ID ---------------------------------------------------------------------------------------

VALID_LOOKING = "0b9a6d1e-3c4f-4a8b-9d2e-1f0a2b3c4d5e"
ODD_SPACE_IDS = {
    "empty": b"",
    "spaces": b"     ",
    "not a UUID": b"my-space",
    "UUID with braces": b"{" + VALID_LOOKING.encode() + b"}",
    "URN": b"urn:uuid:" + VALID_LOOKING.encode(),
    "hex without dashes": VALID_LOOKING.replace("-", "").encode(),
    "NUL": VALID_LOOKING[:8].encode() + b"\x00" + VALID_LOOKING[9:].encode(),
    "very long": b"a" * 8_000,
    "non-ASCII bytes": "é".encode() * 18,
    "Arabic-Indic digits": "".join(
        chr(0x0660 + int(c)) if c.isdigit() else c for c in VALID_LOOKING
    ).encode(),
    "escape sequence": b"\x1b[2J" + VALID_LOOKING.encode(),
}


@pytest.mark.parametrize("case", ODD_SPACE_IDS, ids=list(ODD_SPACE_IDS))
def test_an_odd_space_id_answers_400_and_stores_nothing(ada_calls, server, case):
    before = stored()
    header = [(b"X-Space-ID", ODD_SPACE_IDS[case])]

    listed = ada_calls.send("GET", "/api/v1/notebooks", header)
    created = ada_calls.post_json("/api/v1/notebooks", b'{"name": "Odd space"}', headers=header)

    for answer in (listed, created):
        assert answer.status == 400, (case, answer.status, answer.body[:300])
        if "application/json" in answer.headers.get("content-type", ""):
            # Aether's own answer (gunicorn refuses some of these before the app sees them).
            assert answer.json() == {"detail": "X-Space-ID must be a space id (a UUID)."}
    assert stored() == before
    assert_no_server_error(server)


def test_an_unknown_space_answers_404_and_ones_own_space_in_capitals_is_found(ada_calls, ada):
    unknown = ada_calls.send("GET", "/api/v1/notebooks", [(b"X-Space-ID", str(uuid.uuid4()).encode())])
    own = ada_calls.send(
        "GET", "/api/v1/notebooks", [(b"X-Space-ID", str(ada.onboarding.space_id).upper().encode())]
    )

    assert (unknown.status, unknown.json()) == (
        404,
        {"detail": "No such space, or you are not a member of it."},
    )
    assert own.status == 200
    assert own.json()["count"] == 1


# --- X-Request-ID -------------------------------------------------------------------------------------

ODD_REQUEST_IDS = {
    "NUL": b"req\x00id",
    "escape sequence": b"req\x1b[31mred",
    "bell": b"req\x07id",
    "DEL": b"req\x7fid",
    "bare carriage return": b"req\rid",
    "vertical tab": b"req\x0bid",
    "tab": b"req\tid",
    "non-ASCII bytes": "req-été".encode(),
    "forged log line": b'req"} {"level": "ERROR", "message": "forged',
    "129 characters": b"r" * 129,
}


@pytest.mark.parametrize("case", ODD_REQUEST_IDS, ids=list(ODD_REQUEST_IDS))
def test_a_request_id_with_odd_characters_is_replaced_and_never_echoed(ada_calls, server, case):
    sent = ODD_REQUEST_IDS[case]

    answer = ada_calls.send("GET", "/api/v1/users/me", [(b"X-Request-ID", sent)])

    assert answer.status in {200, 400}, (answer.status, answer.body[:300])
    if answer.status == 200:
        # Aether answered, with an id of its own; gunicorn refuses the rest before the app runs.
        assert NEW_ID.fullmatch(answer.headers["x-request-id"])
    text = sent.decode("latin-1")
    assert text not in answer.headers.get("x-request-id", "")
    log = server.log_text()
    assert text not in log
    assert json.dumps(text)[1:-1] not in log
    for line in server.json_lines():
        assert "request_id" not in line or REQUEST_ID_PATTERN.fullmatch(line["request_id"])
    assert_no_server_error(server)


# --- JSON nested 10,000 deep --------------------------------------------------------------------------

ARRAYS = "[" * DEPTH + "]" * DEPTH
OBJECTS = '{"a":' * DEPTH + "1" + "}" * DEPTH
DEEP_BODIES = {
    "arrays as the body": ("POST", "/api/v1/notebooks", ARRAYS),
    "objects as the body": ("POST", "/api/v1/notebooks", OBJECTS),
    "unclosed arrays": ("POST", "/api/v1/notebooks", "[" * DEPTH),
    "a deep description": ("POST", "/api/v1/notebooks", f'{{"name": "Deep", "description": {ARRAYS}}}'),
    "a deep edit": ("PATCH", "/api/v1/notebooks/{notebook}", f'{{"name": {OBJECTS}}}'),
    "a deep document": (
        "POST",
        "/api/v1/notebooks/{notebook}/documents",
        f'{{"name": "deep.txt", "content": "x", "metadata": {OBJECTS}}}',
    ),
    "metadata 900 deep": (
        "POST",
        "/api/v1/notebooks/{notebook}/documents",
        '{"name": "deep.txt", "content": "x", "metadata": ' + '{"a":' * 900 + "1" + "}" * 900 + "}",
    ),
    "a deep agent": ("POST", "/api/v1/agents", f'{{"name": "Deep", "tags": {ARRAYS}}}'),
    "a deep space": ("POST", "/api/v1/spaces", f'{{"name": {ARRAYS}}}'),
}


@pytest.mark.parametrize("case", DEEP_BODIES, ids=list(DEEP_BODIES))
def test_json_nested_deeply_answers_400_and_stores_nothing(ada_calls, server, ada, case):
    method, path, body = DEEP_BODIES[case]
    notebook = Notebook.objects.get(owner=ada)
    before = stored()

    answer = ada_calls.post_json(path.format(notebook=notebook.pk), body.encode(), method=method)

    assert answer.status == 400, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/json"
    assert stored() == before
    notebook.refresh_from_db()
    assert notebook.name == "Getting Started"
    assert_no_server_error(server)


# --- Multipart bodies of 10,000 parts -----------------------------------------------------------------


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, bytes]:
    """A multipart/form-data body of ``(field name, file name or None, content)`` and its content type."""
    boundary = "aether-bad-input-boundary"
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
        )
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}".encode()


MANY_FIELDS = [(f"field{n}", None, b"x") for n in range(DEPTH)] + [("file", "notes.txt", b"notes")]
MANY_FILES = [("file", f"notes-{n}.txt", b"notes") for n in range(DEPTH)]
MANY_PARTS = {
    "API, 10,000 fields": ("/api/v1/notebooks/{notebook}/documents", MANY_FIELDS),
    "API, 10,000 files": ("/api/v1/notebooks/{notebook}/documents", MANY_FILES),
    "page, 10,000 fields": ("/notebooks/{notebook}/documents/", MANY_FIELDS),
    "page, 10,000 files": ("/notebooks/{notebook}/documents/", MANY_FILES),
}


@pytest.mark.parametrize("case", MANY_PARTS, ids=list(MANY_PARTS))
def test_a_multipart_body_of_10000_parts_answers_400_and_stores_nothing(ada_calls, server, ada, case):
    path, parts = MANY_PARTS[case]
    notebook = Notebook.objects.get(owner=ada)
    body, content_type = multipart([("csrfmiddlewaretoken", None, CSRF_TOKEN.encode()), *parts])
    before = stored()
    lines_before = len(server.json_lines())

    answer = ada_calls.send(
        "POST", path.format(notebook=notebook.pk), [(b"Content-Type", content_type)], body
    )

    assert answer.status == 400, (answer.status, answer.body[:300])
    if path.startswith("/api/"):
        limit = "1000 fields" if parts is MANY_FIELDS else "100 files"
        assert answer.json() == {"detail": f"Multipart form parse error - more than {limit}."}
    else:
        assert b'<h1 id="error-heading">' in answer.body
    assert stored() == before
    assert_no_server_error(server)
    # The client's fault is logged as a warning at most, never as an error with a traceback.
    logged = server.json_lines()[lines_before:]
    assert [line["message"] for line in logged if line["level"] in ("ERROR", "CRITICAL")] == []
    assert not any("exception" in line for line in logged)
    if not path.startswith("/api/"):
        refused = "TooManyFieldsSent" if parts is MANY_FIELDS else "TooManyFilesSent"
        warnings = [line["logger"] for line in logged if line["level"] == "WARNING"]
        assert warnings == [f"django.security.{refused}"]
