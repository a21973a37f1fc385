"""gunicorn's configuration; gunicorn reads ./gunicorn.conf.py from its working directory (/app in the image).

Settings given on the command line (the Dockerfile's --bind, --workers) win over the ones here.
"""

# Prometheus's multiprocess mode: empty PROMETHEUS_MULTIPROC_DIR before the workers start, and drop a
# dead worker's live values (aether/metrics/gunicorn_hooks.py).
from aether.metrics.gunicorn_hooks import child_exit, on_starting

# gunicorn's default access line, plus the request's id (the X-Request-ID response header), the same id
# as in the application's own JSON log lines for that request.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)

__all__ = ["access_log_format", "child_exit", "on_starting"]
