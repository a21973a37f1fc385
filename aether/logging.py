"""Structured log lines: one JSON object per record, with the fields passed in ``extra``."""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord carries; anything else on a record came from ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JSONFormatter(logging.Formatter):
    """Format a record as one line of JSON that log pipelines can index without parsing prose."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key.startswith("_"):
                continue
            if key == "request":
                # Django attaches the request (or, for runserver, its socket): keep what identifies it.
                value = f"{getattr(value, 'method', '')} {getattr(value, 'path', '')}".strip() or None
                if value is None:
                    continue
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ClientFaultFilter(logging.Filter):
    """For ``django.security``: Django logs each ``SuspiciousOperation`` (a form of 10,000 fields, a
    body over the size limit, a host not allowed) as an error with its traceback, yet each is the
    client's own bad request, answered 400. Logged as a warning, without the traceback, it stays
    visible without reading as a fault of the server."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text = None, None
        return True
