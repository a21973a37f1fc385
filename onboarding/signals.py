"""Signals sent by the onboarding app, after the run's transaction has committed.

Both carry ``user`` and ``run`` (the ``OnboardingRun``).
"""

from django.dispatch import Signal

onboarding_completed = Signal()
onboarding_failed = Signal()
