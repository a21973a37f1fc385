"""Settings for the test suite: the real settings, with a fixed secret key and a fast password hasher."""

import os

if not os.environ.get("DJANGO_SECRET_KEY"):
    os.environ["DJANGO_SECRET_KEY"] = "test-suite-secret-key-not-used-anywhere-else"

from aether.settings import *  # noqa: F403

# Tests create many users with passwords; the default hasher is deliberately slow.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "media"  # noqa: F405
# Serve static files from the app folders, as runserver does; tests never run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Secure session and CSRF cookies stay on, as in production: the live server is http://localhost,
# which Chromium treats as a secure context, so it keeps and sends them (the browser tests show it).
