"""Every request has an id: taken from a valid X-Request-ID, made otherwise, sent back and logged."""

import io
import json
import logging
import re

import pytest

from aether.logging import JSONFormatter
from aether.request_id import current_request_id
from onboarding.models import OnboardingRun

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log_lines():
    """The JSON lines the console handler writes while the test runs (it is the one LOGGING configures)."""
    (handler,) = [h for h in logging.getLogger("aether").handlers if isinstance(h.formatter, JSONFormatter)]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    handler.setStream(previous)


@pytest.mark.parametrize(
    "request_id",
    [
        "3f2c9a1e-4b7d-4e0a-9c1b-2f3e4d5c6b7a",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "edge:lb-7.a_b",
        "x" * 128,
    ],
)
def test_a_valid_request_id_is_sent_back_unchanged(client, request_id):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=request_id)

    assert response["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["", "x" * 129, "abc\ndef", "abc\x00def", "abc\x1b[31mdef", "a b", "<script>", "id;drop", "ünïcode"],
)
def test_an_invalid_request_id_is_replaced_by_a_new_one(client, request_id):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=request_id)

    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_a_request_without_an_id_gets_a_new_one_each_time(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


# Transactional: the onboarding's "completed" line is written after its commit, within the request.
@pytest.mark.django_db(transaction=True)
def test_every_line_logged_for_a_request_carries_its_id_and_no_line_after_it(
    client, json_log_lines, keycloak_issuer
):
    token = keycloak_issuer.access_token("new-ada")
    client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_REQUEST_ID="req-first-call")
    # A refused token: the 401 is logged by Django after every middleware has returned.
    client.get("/api/v1/users/me", HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_X_REQUEST_ID="req-refused")
    logging.getLogger("aether.test").warning("outside any request")

    # The test issuer's own server (werkzeug, in another thread) logs its answers too: not Aether's lines.
    lines = [line for line in json_log_lines() if line["logger"] != "werkzeug"]
    by_message = {line["message"]: line for line in lines}
    assert by_message["onboarding completed"]["request_id"] == "req-first-call"
    refused = [line for line in lines if line.get("request_id") == "req-refused"]
    assert {line["logger"] for line in refused} >= {"django.request"}
    assert "request_id" not in by_message["outside any request"]
    assert [line for line in lines if "request_id" not in line] == [by_message["outside any request"]]
    assert current_request_id() is None
    # The run that request started keeps its id; the refused call started none.
    assert OnboardingRun.objects.get(user__sub="new-ada").request_id == "req-first-call"
