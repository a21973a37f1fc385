"""Typed readers for configuration that comes from the environment.

Each reader fails loudly, naming the variable, when a value cannot be understood: a typo in a
deployment should stop the process at start-up, not surface later as odd behaviour.
"""

import os

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
