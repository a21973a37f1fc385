import json
import logging

from django.test import RequestFactory

from aether.logging import JSONFormatter


def record(**extra) -> dict:
    entry = logging.LogRecord("aether.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    entry.__dict__.update(extra)
    return json.loads(JSONFormatter().format(entry))


def test_a_record_is_one_json_object_with_its_extra_fields():
    line = record(user_id="u1", duration_ms=12)

    assert line["message"] == "hello world"
    assert (line["level"], line["logger"]) == ("INFO", "aether.test")
    assert (line["user_id"], line["duration_ms"]) == ("u1", 12)


def test_a_request_is_logged_as_its_method_and_path_and_a_socket_not_at_all():
    assert record(request=RequestFactory().post("/api/v1/notebooks"))["request"] == "POST /api/v1/notebooks"
    assert "request" not in record(request=object())
