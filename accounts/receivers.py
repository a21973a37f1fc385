"""Receivers of Django's sign-in and sign-out signals, connected in ``AccountsConfig.ready()``."""

from typing import Any

from django.http import HttpRequest

from accounts.models import User
from accounts.sessions import PROVIDER_SID_ATTRIBUTE, browser_session_forget, browser_session_record


def record_browser_session(sender: Any, *, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """``user_logged_in``: remember whose session this is, and the provider's ``sid`` if it gave one."""
    browser_session_record(
        session=request.session, user=user, sid=getattr(request, PROVIDER_SID_ATTRIBUTE, "")
    )


def forget_browser_session(sender: Any, *, request: HttpRequest, **kwargs: Any) -> None:
    """``user_logged_out``: the session is about to be flushed; its record goes with it."""
    browser_session_forget(session_key=request.session.session_key)
