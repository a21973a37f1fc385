"""Production settings without the API's default throttle: the baseline of bench/throttle_overhead.py."""

from aether.settings import *  # noqa: F403

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
