"""WSGI entry point: ``gunicorn aether.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.settings")

application = get_wsgi_application()
