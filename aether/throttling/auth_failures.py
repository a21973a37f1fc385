"""Slow down a client sending bad bearer tokens: ``AUTH_FAILURE_THROTTLE`` failures per client address.

Past the rate, bearer tokens from that address are refused with a 429 before they are looked at, so
guessing tokens gets nowhere (the answer says nothing about the token). Failures are counted in the
shared counter, so every worker and replica refuses the address alike.
"""

import logging

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request

from aether.throttling.counter import count_request, current_window
from aether.throttling.throttles import client_address, throttle_key

logger = logging.getLogger("aether.throttling")

SCOPE = "bearer-failures"


def _key(request: Request) -> str:
    return throttle_key(SCOPE, settings.AUTH_FAILURE_THROTTLE, f"address:{client_address(request)}")


def refuse_if_failing_too_often(request: Request) -> None:
    """Raise ``Throttled`` when this address has had as many failed bearer authentications as allowed."""
    rate = settings.AUTH_FAILURE_THROTTLE
    window = current_window(key=_key(request), rate=rate)
    if not window.full:
        return
    wait = window.seconds_until_allowed()
    logger.info(
        "bearer token refused unread: too many failures",
        extra={"throttle": SCOPE, "rate": str(rate), "client": client_address(request), "retry_after": wait},
    )
    raise exceptions.Throttled(
        wait, detail=f"Too many failed authentications from this address; try again in {wait} seconds."
    )


def record_failure(request: Request) -> None:
    """Count one failed bearer authentication from this address."""
    count_request(key=_key(request), rate=settings.AUTH_FAILURE_THROTTLE)
