from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and spaces"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts import checks  # noqa: F401 - registers the system checks
        from accounts.receivers import forget_browser_session, record_browser_session

        user_logged_in.connect(record_browser_session, dispatch_uid="accounts.record_browser_session")
        user_logged_out.connect(forget_browser_session, dispatch_uid="accounts.forget_browser_session")
