"""Typed readers for configuration that comes from the environment.

Each reader fails loudly, naming the variable, when a value cannot be understood: a typo in a
deployment should stop the process at start-up, not surface later as odd behaviour.
"""

import os
import re
from typing import NamedTuple

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable's value stripped of surrounding blanks, or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool = False) -> bool:
    """Return ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``) as a bool."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be 'true' or 'false', not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return an integer, refusing values that are not integers or fall below ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: tuple[str, ...] = ()) -> list[str]:
    """Return a comma-separated list without empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_pairs(name: str, *, shape: str = "key=value") -> list[tuple[str, str]]:
    """Return a comma list of ``key=value`` pairs, each side stripped; repeated pairs appear once.

    ``shape`` names the parts in the error message (``role=Group name``). A pair without ``=`` or
    with an empty side stops the process, naming the variable and the pair.
    """
    pairs: list[tuple[str, str]] = []
    for item in os.environ.get(name, "").split(","):
        if not item.strip():
            continue
        key, separator, value = (part.strip() for part in item.partition("="))
        if not separator or not key or not value:
            raise ImproperlyConfigured(
                f"{name} must be a comma list of {shape} pairs; {item.strip()!r} is not one."
            )
        if (key, value) not in pairs:
            pairs.append((key, value))
    return pairs


def env_unset_if_empty(name: str) -> str | None:
    """Return the variable's value, removing it from the environment when it is empty.

    For variables that libraries read themselves, by their mere presence: the Prometheus client turns
    its multiprocess mode on whenever ``PROMETHEUS_MULTIPROC_DIR`` exists, even empty.
    """
    value = env_str(name)
    if value is None:
        os.environ.pop(name, None)
    return value


class Rate(NamedTuple):
    """A throttle's rate: at most ``count`` requests per ``seconds``."""

    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{_PERIOD_NAMES[self.seconds]}"


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_PERIOD_NAMES = {1: "s", 60: "min", 3600: "hour", 86400: "day"}
_RATE = re.compile(r"(?P<count>[0-9]+)\s*/\s*(?P<period>[a-z]+?)s?", re.IGNORECASE)


def env_rate(name: str, default: str) -> Rate:
    """Return a DRF-style rate, ``<count>/<period>`` with a period of ``s``, ``min``, ``hour`` or ``day``.

    The count must be at least 1; ``second``, ``minute``, plurals and blanks around the ``/`` are
    accepted too (``5/min``, ``100 / hours``).
    """
    raw = os.environ.get(name, "").strip() or default
    match = _RATE.fullmatch(raw)
    period = _PERIODS.get(match["period"].lower()) if match else None
    if match is None or period is None or int(match["count"]) < 1:
        raise ImproperlyConfigured(
            f"{name} must be a rate such as '5/min': a count of at least 1, '/', and one of "
            f"s, min, hour or day; not {raw!r}."
        )
    return Rate(int(match["count"]), period)
