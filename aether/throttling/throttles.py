"""DRF throttle classes over the shared counts of ``aether.throttling.counter``.

Views declare them the DRF way (``throttle_classes``); ``ApiThrottle`` is every API view's default
(``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``). A refusal is DRF's ``Throttled``: a 429 with
``{"detail": ...}`` and ``Retry-After`` in whole seconds.
"""

import hashlib
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from aether.env import Rate
from aether.throttling.counter import Window, count_request, uncount_request

if TYPE_CHECKING:  # rest_framework.views imports the authentication classes, which import this module
    from rest_framework.views import APIView

    from accounts.models import User

logger = logging.getLogger("aether.throttling")

_LONGEST_CLIENT = 100


def throttle_key(scope: str, rate: Rate, client: str) -> str:
    """The counter's key: the throttle, its period (a new period starts new counts) and the client."""
    if len(client) > _LONGEST_CLIENT:
        client = "sha256:" + hashlib.sha256(client.encode()).hexdigest()
    return f"{scope}/{rate.seconds}:{client}"


def client_address(request: Request) -> str:
    """The client's address: ``REMOTE_ADDR``, or X-Forwarded-For's as ``TRUSTED_PROXY_COUNT`` says."""
    return BaseThrottle().get_ident(request)


def take_turn(*, scope: str, rate: Rate, client: str) -> Window | None:
    """Count one request of ``client`` against ``rate``: ``None`` when it may be served.

    When it may not, the request is taken off the count again and the answer is the window it was
    refused in (``seconds_until_allowed()`` says when to come back).
    """
    key = throttle_key(scope, rate, client)
    window = count_request(key=key, rate=rate)
    if not window.over:
        return None
    refused = uncount_request(window, key=key)
    logger.info(
        "request throttled",
        extra={
            "throttle": scope,
            "rate": str(rate),
            "client": client,
            "retry_after": refused.seconds_until_allowed(),
        },
    )
    return refused


class SharedRateThrottle(BaseThrottle):
    """At most ``rate`` requests per client, counted across every process.

    Subclasses name their ``scope``, the setting holding their ``Rate`` and who the client is (``None``:
    not throttled by this class).
    """

    scope: str
    rate_setting: str

    def __init__(self) -> None:
        self.refused: Window | None = None

    def client(self, request: Request, view: "APIView") -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: "APIView") -> bool:
        client = self.client(request, view)
        if client is None:
            return True
        self.refused = take_turn(scope=self.scope, rate=getattr(settings, self.rate_setting), client=client)
        return self.refused is None

    def wait(self) -> int | None:
        return self.refused.seconds_until_allowed() if self.refused else None


class ApiThrottle(SharedRateThrottle):
    """``API_THROTTLE``: every API route, per user, or per client address when anonymous."""

    scope = "api"
    rate_setting = "API_THROTTLE"

    def client(self, request: Request, view: "APIView") -> str | None:
        if request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"address:{client_address(request)}"


class OnboardingRetryThrottle(SharedRateThrottle):
    """``ONBOARDING_RETRY_THROTTLE``: onboarding run again on demand, per user.

    The dashboard's "Try again" counts against the same rate (``onboarding_retry_wait``).
    """

    scope = "onboarding-retry"
    rate_setting = "ONBOARDING_RETRY_THROTTLE"

    def client(self, request: Request, view: "APIView") -> str | None:
        return f"user:{request.user.pk}" if request.user.is_authenticated else None


def onboarding_retry_wait(*, user: "User") -> int | None:
    """Count a retry of ``user``'s onboarding from a page: ``None`` when it may run, else seconds to wait."""
    refused = take_turn(
        scope=OnboardingRetryThrottle.scope,
        rate=getattr(settings, OnboardingRetryThrottle.rate_setting),
        client=f"user:{user.pk}",
    )
    return refused.seconds_until_allowed() if refused else None
