"""Receivers connected in ``OnboardingConfig.ready()``."""

from onboarding.services import onboard_after_sign_in


def onboard_after_authentication(sender, *, user, claims, created, via, **kwargs) -> None:
    """Onboard the user who just signed in (``via`` is ``browser`` or ``bearer``), unless done already."""
    onboard_after_sign_in(user=user, via=via, created=created)
