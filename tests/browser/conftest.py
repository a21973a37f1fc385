"""Pages in headless Chromium for the browser tests: a fresh context per page, one browser per worker.

Every page opened here fails its test when a JavaScript dialog opens (escaped user text must never
run) or when Chromium reports a Content-Security-Policy violation.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page

from accounts.models import User

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"


@dataclass
class PageWatch:
    """What a page did that it never should."""

    dialogs: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_dialog(dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message} on {page.url}")
            dialog.dismiss()

        def on_console(message) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                self.csp_violations.append(f"{message.text} on {page.url}")

        page.on("dialog", on_dialog)
        page.on("console", on_console)


def session_cookie_for(user: User, url: str) -> dict[str, str]:
    """A signed-in session for ``user``, as the browser would hold it after signing in."""
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


@pytest.fixture
def open_page(_chromium, live_server):
    """``open_page(user=None, viewport=DESKTOP)``: a new page on the live server.

    With ``user`` the page starts with that user's session, for tests about a page rather than about
    signing in; the others sign in through the provider with ``tests.signin.sign_in``.
    """
    watch = PageWatch()
    contexts = []

    def open_(user: User | None = None, viewport: dict[str, int] = DESKTOP) -> Page:
        context = _chromium.new_context(base_url=live_server.url, viewport=viewport)
        contexts.append(context)
        if user is not None:
            context.add_cookies([session_cookie_for(user, live_server.url)])
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch.watch(page)
        return page

    open_.watch = watch
    yield open_
    for context in contexts:
        context.close()
    assert watch.dialogs == [], "a dialog opened: user text ran as script"
    assert watch.csp_violations == [], "the page broke its Content-Security-Policy"


@pytest.fixture
def screenshot():
    """``screenshot(page, name)``: save a full-page PNG under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def fits_the_viewport(page: Page) -> bool:
    """No horizontal scrolling: nothing is wider than the screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def screenshots(screenshot):
    """``screenshots(page, name)``: the page at 1280x800 and at 390x844 (``name-desktop.png``,
    ``name-phone.png``), failing when it does not fit the phone's width; the page is left at 1280x800."""

    def take(page: Page, name: str) -> None:
        page.set_viewport_size(DESKTOP)
        screenshot(page, f"{name}-desktop")
        page.set_viewport_size(PHONE)
        screenshot(page, f"{name}-phone")
        assert fits_the_viewport(page), f"{name} is wider than a phone"
        page.set_viewport_size(DESKTOP)

    return take
