"""gunicorn's configuration; gunicorn reads ./gunicorn.conf.py from its working directory (/app in the image).

Every setting comes from a ``GUNICORN_*`` environment variable (documented in .env.example), read once
when gunicorn starts; a bad value stops it with the variable's name. The image, docker-compose.yml,
the Kubernetes manifests and bench/load_new_users.py all start gunicorn with this file and no
command-line overrides (an option given on the command line would win over the value here).

The defaults were chosen by measurement on a 2-core machine: bench/RESULTS.md, "gunicorn: worker class
and counts".
"""

from django.core.exceptions import ImproperlyConfigured

from aether.env import env_bool, env_int, env_str

# Prometheus's multiprocess mode: empty PROMETHEUS_MULTIPROC_DIR before the workers start, and drop a
# dead worker's live values (aether/metrics/gunicorn_hooks.py).
from aether.metrics.gunicorn_hooks import child_exit, on_starting

WORKER_CLASSES = ("sync", "gthread")

bind = [env_str("GUNICORN_BIND", "0.0.0.0:8000")]

worker_class = env_str("GUNICORN_WORKER_CLASS", "gthread")
if worker_class not in WORKER_CLASSES:
    raise ImproperlyConfigured(
        f"GUNICORN_WORKER_CLASS must be one of {', '.join(WORKER_CLASSES)}, not {worker_class!r}."
    )
workers = env_int("GUNICORN_WORKERS", 2, minimum=1)
threads = env_int("GUNICORN_THREADS", 4 if worker_class == "gthread" else 1, minimum=1)
if worker_class == "sync" and threads > 1:
    # gunicorn would quietly run gthread workers instead; say so rather than surprise.
    raise ImproperlyConfigured(
        f"GUNICORN_THREADS={threads} needs GUNICORN_WORKER_CLASS=gthread: a sync worker has one thread."
    )

# A worker silent for this long is killed and replaced (onboarding gives up after ONBOARDING_TIMEOUT_SECONDS).
timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
# On SIGTERM, how long workers may finish the requests they hold; below Kubernetes'
# terminationGracePeriodSeconds (30), above ONBOARDING_TIMEOUT_SECONDS (10).
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 25, minimum=1)
# A worker stopped in the middle of a sign-in's onboarding must let the run end, completed or timed out
# and rolled back, and be recorded, before gunicorn kills it.
_onboarding_timeout = env_int("ONBOARDING_TIMEOUT_SECONDS", 10, minimum=1)
if graceful_timeout <= _onboarding_timeout:
    raise ImproperlyConfigured(
        f"GUNICORN_GRACEFUL_TIMEOUT ({graceful_timeout}) must be longer than ONBOARDING_TIMEOUT_SECONDS "
        f"({_onboarding_timeout}): a worker stopped mid-onboarding would be killed before its run ends."
    )
# Seconds an idle keep-alive connection stays open (gthread only: a sync worker closes each connection).
keepalive = env_int("GUNICORN_KEEPALIVE", 5, minimum=0)
# Restart a worker after this many requests (0: never), spread by up to the jitter so they do not all
# restart at once.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", 0, minimum=0)

# Limits on what a request may send before Django sees it (gunicorn answers 414 or 431 beyond them).
limit_request_line = env_int("GUNICORN_LIMIT_REQUEST_LINE", 4094, minimum=0)
limit_request_fields = env_int("GUNICORN_LIMIT_REQUEST_FIELDS", 100, minimum=1)
limit_request_field_size = env_int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190, minimum=0)

# One access line per request on standard output, unless turned off.
accesslog = "-" if env_bool("GUNICORN_ACCESS_LOG", True) else None
# gunicorn's default access line, plus the request's id (the X-Request-ID response header), the same id
# as in the application's own JSON log lines for that request.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)


def when_ready(server) -> None:
    """Say, once, what this server runs with: the settings above as gunicorn resolved them."""
    config = server.cfg
    server.log.info(
        "Serving %s with %d %s workers x %d threads (timeout %ds, graceful timeout %ds, keep-alive %ds, "
        "max requests %s)",
        ", ".join(config.bind),
        config.workers,
        config.worker_class_str,
        config.threads,
        config.timeout,
        config.graceful_timeout,
        config.keepalive,
        f"{config.max_requests} + up to {config.max_requests_jitter}" if config.max_requests else "unlimited",
    )


__all__ = ["access_log_format", "child_exit", "on_starting", "when_ready"]
