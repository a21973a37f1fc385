"""Aether's settings, read once from the environment at start-up.

Every variable is documented in ``.env.example``; a bad value stops the process with the variable's name.
A ``.env`` file next to ``manage.py`` fills in variables the environment does not set; the environment wins.
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from aether.env import env_bool, env_int, env_list, env_pairs, env_rate, env_str, env_unset_if_empty

BASE_DIR = Path(__file__).resolve().parent.parent
# Before anything is read. override=False: a variable set in the environment is never replaced.
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set unless DJANGO_DEBUG=true.")
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=("localhost", "127.0.0.1"))

INSTALLED_APPS = [
    # django.contrib.admin with Aether's admin site as admin.site (aether/admin_site.py).
    "aether.admin_site.AetherAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mozilla_django_oidc",
    "csp",
    # Django's Tasks framework (the django-tasks backport of Django 6.0's django.tasks) and its database
    # backend: the queue lives in DATABASES["default"], and `manage.py db_worker` runs what is enqueued.
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "notebooks",
    "onboarding",
    "aether.throttling",
]

MIDDLEWARE = [
    # First: every line logged while a request runs, by any middleware or view, carries its id.
    "aether.request_id.RequestIdMiddleware",
    # Second: times and counts everything below it, the probes and /metrics included.
    "aether.metrics.middleware.RequestMetricsMiddleware",
    "aether.health.ProbeMiddleware",
    # A view that fails because the database cannot be reached answers 503 (aether/database_outage.py).
    "aether.database_outage.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF middleware, which would read an oversized body first.
    "aether.oversized_requests.OversizedRequestMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: answers what a page's view raised with an error page (the API answers its own).
    "aether.page_errors.PageErrorMiddleware",
]

ROOT_URLCONF = "aether.urls"
WSGI_APPLICATION = "aether.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.space_choices",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
        # Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction) a cursor that outlives
        # its transaction cannot work: the next statement may reach another server connection. Django then
        # reads .iterator() results in chunks without one (README, "Capacity").
        disable_server_side_cursors=env_bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Parameters bound by the server, and a statement prepared on a connection after it ran there
    # twice: PostgreSQL then skips parsing and planning it (bench/RESULTS.md). Prepared statements
    # live in the server's session, which PgBouncer before 1.21 in transaction mode does not keep.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 2,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work: tasks are rows in the default database (django-tasks-db), so there is no other server to
# run. `manage.py db_worker` takes them, on PostgreSQL with SELECT ... FOR UPDATE SKIP LOCKED, so any number
# of workers on any number of hosts share the queue; `manage.py prune_db_task_results` forgets old results.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # OpenID Connect sign-in (accounts/backends.py); ModelBackend keeps the admin's password login
    # for superusers made with `createsuperuser`.
    "accounts.backends.OIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = BASE_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# Session and CSRF cookies travel over HTTPS only, unless told otherwise for plain-http development.
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# Redirect plain-http requests to https. The probes and /metrics are answered before this (over http,
# by pod IP). Behind a proxy that ends TLS, gunicorn must trust its X-Forwarded-Proto
# (FORWARDED_ALLOW_IPS): a request it takes for plain http would be redirected again and again.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
# Strict-Transport-Security max-age, sent on HTTPS responses only (0, the default: no header), and
# whether it covers subdomains and asks to be preloaded into browsers.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# OpenID Connect: the issuer alone configures sign-in (see accounts/oidc.py). Kept as written, trailing
# slash included: tokens' `iss` must equal it exactly.
OIDC_ISSUER = env_str("OIDC_ISSUER") or ""


def _oidc_origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"OIDC_ISSUER must be an http(s) URL, not {url!r}.")
    return f"{parts.scheme}://{parts.netloc}"


# A strict policy: no inline script or style anywhere, so escaped user text can never run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        # Sign-in and sign-out forms redirect to the provider, which form-action also governs.
        "form-action": [SELF, *([_oidc_origin(OIDC_ISSUER)] if OIDC_ISSUER else [])],
    }
}
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID", default="") or ""
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", default="") or ""
OIDC_SCOPES = env_str("OIDC_SCOPES", default="openid email profile")
OIDC_AUDIENCES = env_list("OIDC_AUDIENCES")
OIDC_STAFF_ROLES = env_list("OIDC_STAFF_ROLES")
OIDC_SUPERUSER_ROLES = env_list("OIDC_SUPERUSER_ROLES")
# The group a staff role puts its holders in (and takes them out of when the role goes). The onboarding
# app's data migration creates it with the permissions of onboarding management (onboarding/permissions.py).
OIDC_STAFF_GROUP = "Onboarding managers"
# More groups from provider roles: [(role, group name), ...], kept up to date at every sign-in.
OIDC_ROLE_GROUPS = env_pairs("OIDC_ROLE_GROUPS", shape="role=Group name")
for _role, _group in OIDC_ROLE_GROUPS:
    if len(_group) > 150:  # django.contrib.auth's Group.name
        raise ImproperlyConfigured(
            f"OIDC_ROLE_GROUPS: the group name for {_role!r} is longer than 150 characters."
        )
# Explicit endpoints override the discovered ones (a provider behind a split-horizon DNS, say).
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="") or ""
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", default="") or ""
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", default="") or ""
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", default="") or ""
OIDC_OP_LOGOUT_ENDPOINT = env_str("OIDC_OP_LOGOUT_ENDPOINT", default="") or ""
# Seconds to wait for any answer from the provider.
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)

# mozilla-django-oidc (browser sign-in). Endpoints, client and keys come from accounts/oidc.py per
# request (accounts/backends.py, accounts/views.py); of the library's own settings, its views still
# read these.
OIDC_RP_SCOPES = OIDC_SCOPES
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
# Kept in the session for RP-initiated logout's id_token_hint.
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "accounts.views.provider_logout_url"

# Read by the Prometheus client itself when first imported (aether/metrics): an empty value, as
# .env.example lists it, means one process's metrics, like the variable left unset.
PROMETHEUS_MULTIPROC_DIR = env_unset_if_empty("PROMETHEUS_MULTIPROC_DIR")
# The bearer token Prometheus sends to GET /metrics; unset, the route answers 404 (aether/metrics/views.py).
METRICS_TOKEN = env_str("METRICS_TOKEN", default="") or ""
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long (or unset: no /metrics).")

ONBOARDING_TIMEOUT_SECONDS = env_int("ONBOARDING_TIMEOUT_SECONDS", 10, minimum=1)
# A roll-out whose worker has not shown it is alive for this long is picked up again by another one.
ROLLOUT_LEASE_SECONDS = env_int("ROLLOUT_LEASE_SECONDS", 30, minimum=1)
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
# Largest request body Django reads into memory (JSON bodies, multipart fields other than files).
# A document sent as JSON escapes its text (newlines, quotes), so its body may be about twice the
# document.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, 2 * DOCUMENT_MAX_BYTES + 64 * 1024)
# Multipart uploads larger than a document (plus its envelope) are refused while being read, before
# Django's handlers write them to memory or disk (notebooks/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "notebooks.uploads.DocumentSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Throttles (aether/throttling): counted in the database, so every worker and replica shares the counts.
# Every API route per user (per client address when anonymous), the onboarding retry per user, and failed
# bearer authentications per client address (refused before the token is even looked at).
API_THROTTLE = env_rate("API_THROTTLE", "1200/min")
ONBOARDING_RETRY_THROTTLE = env_rate("ONBOARDING_RETRY_THROTTLE", "5/min")
AUTH_FAILURE_THROTTLE = env_rate("AUTH_FAILURE_THROTTLE", "30/min")
# How many proxies in front of Aether append the client's address to X-Forwarded-For: the client is the
# address that many entries from the right. 0: REMOTE_ADDR, the header is ignored (anyone could write it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that an unauthenticated call gets 401 with `WWW-Authenticate: Bearer`.
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only; the document upload adds multipart itself.
    "DEFAULT_PARSER_CLASSES": ["aether.api_parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "aether.api_schema.AetherAutoSchema",
    "EXCEPTION_HANDLER": "aether.api_errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["aether.throttling.throttles.ApiThrottle"],
    # DRF's client address for throttles (BaseThrottle.get_ident).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Aether API",
    "DESCRIPTION": "Spaces, notebooks, documents, agents and onboarding.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files are served from this site: the strict CSP allows no other origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MembershipRoleEnum": "accounts.models.Membership.Role",
        "SpaceTypeEnum": "accounts.models.Space.Type",
        "AgentTypeEnum": "notebooks.models.Agent.Type",
    },
}

LOG_LEVEL = env_str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "aether.logging.JSONFormatter"}},
    # Every line written while a request runs carries its id (aether/request_id.py).
    "filters": {
        "request_id": {"()": "aether.request_id.RequestIdLogFilter"},
        "client_fault": {"()": "aether.logging.ClientFaultFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
        "client_faults": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "client_fault"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # A client's bad request (too many form fields, say): a warning, not a server error.
        "django.security": {"handlers": ["client_faults"], "level": "INFO", "propagate": False},
        "aether": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
