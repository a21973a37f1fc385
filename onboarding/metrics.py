"""Onboarding's Prometheus metrics.

``aether_users`` is read from the database by the worker that answers the scrape, in one query.
"""

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from onboarding.models import OnboardingStatus
from onboarding.selectors import onboarding_status_counts

logger = logging.getLogger("aether.onboarding")


class UsersByOnboardingStatus(Collector):
    """``aether_users{onboarding_status}``, counted in the database when Prometheus scrapes."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = onboarding_status_counts()
        except DatabaseError as exc:
            # The other metrics still answer; a missing series is what alerts on an absent gauge see.
            logger.warning("users per onboarding status could not be counted", extra={"error": str(exc)})
            return
        family = self._family()
        for status in OnboardingStatus.values:
            family.add_metric([status], counts[status])
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "aether_users",
            "Users by onboarding status, counted at scrape time.",
            labels=["onboarding_status"],
        )
