# syntax=docker/dockerfile:1

# Builder: every runtime dependency becomes a wheel here, so the final image needs neither a compiler nor an index.
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt


FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="Aether" \
      org.opencontainers.image.description="Aether web application (Django, served by gunicorn)"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=aether.settings

# A fixed numeric id: Kubernetes can only prove runAsNonRoot for a numeric USER (deploy/k8s uses the same id).
RUN groupadd --system --gid 10001 aether \
    && useradd --system --uid 10001 --gid aether --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin aether

# Prometheus's multiprocess mode: each gunicorn worker records its metrics in files here, and /metrics adds them
# up. The client reads the variable when it is first imported, so it is set for the whole image; gunicorn.conf.py
# empties the directory at start. Kubernetes mounts an emptyDir over it (the root filesystem is read-only there).
ENV PROMETHEUS_MULTIPROC_DIR=/run/aether-metrics
RUN install -d -o 10001 -g 10001 -m 0700 /run/aether-metrics

WORKDIR /app

# Only requirements.txt, only from the builder's wheels: no dev dependencies, and the wheels never become a layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    pip install --no-cache-dir --no-index --find-links=/wheels -r /tmp/requirements.txt

COPY . .

# Static files are collected into the image and served by whitenoise, so the container never writes to its own
# filesystem. Settings refuse to load without a secret key; this throwaway one exists for this command only and is
# not part of the image's environment.
RUN DJANGO_SECRET_KEY=collectstatic-only-throwaway-key python manage.py collectstatic --noinput

USER 10001:10001

EXPOSE 8000

# Liveness only (no database), in python because the slim image has no curl. Probes are answered before
# Django's host validation, so any Host header will do.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# gunicorn.conf.py reads every server setting from GUNICORN_* variables (bind 0.0.0.0:8000, workers, threads,
# timeouts, the access log on standard output) and holds the metrics hooks: no option here overrides it. The exec
# form makes gunicorn PID 1, so it receives SIGTERM and shuts down gracefully.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"]
