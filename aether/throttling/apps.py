from django.apps import AppConfig


class ThrottlingConfig(AppConfig):
    name = "aether.throttling"
    label = "throttling"
    verbose_name = "Throttling"
