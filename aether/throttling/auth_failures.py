"""Slow down a client sending bad bearer tokens: ``AUTH_FAILURE_THROTTLE`` failures per client address.

Past the rate, bearer tokens from that address are refused with a 429, good or bad alike, so guessing
tokens gets nowhere (the answer says nothing about the token). Failures are counted in the shared
counter, so every worker and replica refuses the address alike. The count is read either on its own
(``refuse_if_failing_too_often``) or along with another statement (``failures_reading``); a failure
over the rate is refused as it is counted (``record_failure``).
"""

import logging

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request

from aether.throttling.counter import (
    Window,
    WindowReading,
    count_request,
    current_window,
    uncount_request,
)
from aether.throttling.throttles import client_address, throttle_key

logger = logging.getLogger("aether.throttling")

SCOPE = "bearer-failures"


def _key(request: Request) -> str:
    return throttle_key(SCOPE, settings.AUTH_FAILURE_THROTTLE, f"address:{client_address(request)}")


def failures_reading(request: Request) -> WindowReading:
    """A read of this address's failed bearer authentications, to make along with another statement."""
    return WindowReading(key=_key(request), rate=settings.AUTH_FAILURE_THROTTLE)


def refuse_if_failing_too_often(request: Request, window: Window | None = None) -> None:
    """Raise ``Throttled`` when this address has had as many failed bearer authentications as allowed.

    ``window``: the address's failures when read already (``failures_reading``); read here otherwise.
    """
    if window is None:
        window = current_window(key=_key(request), rate=settings.AUTH_FAILURE_THROTTLE)
    if window.full:
        _refuse(request, window)


def record_failure(request: Request) -> None:
    """Count one failed bearer authentication from this address.

    One failure more than the rate allows is refused instead (``Throttled``) and not counted, as a
    token refused unread is not.
    """
    key = _key(request)
    window = count_request(key=key, rate=settings.AUTH_FAILURE_THROTTLE)
    if window.over:
        _refuse(request, uncount_request(window, key=key))


def _refuse(request: Request, window: Window) -> None:
    wait = window.seconds_until_allowed()
    logger.info(
        "bearer token refused: too many failures",
        extra={
            "throttle": SCOPE,
            "rate": str(window.rate),
            "client": client_address(request),
            "retry_after": wait,
        },
    )
    raise exceptions.Throttled(
        wait, detail=f"Too many failed authentications from this address; try again in {wait} seconds."
    )
