from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = "Onboarding"

    def ready(self) -> None:
        from accounts.signals import user_authenticated
        from aether.metrics import register_scrape_collector
        from onboarding.metrics import UsersByOnboardingStatus
        from onboarding.receivers import onboard_after_authentication

        user_authenticated.connect(
            onboard_after_authentication, dispatch_uid="onboarding.onboard_after_authentication"
        )
        register_scrape_collector(UsersByOnboardingStatus())
