"""The provider ends sessions, and so does staff: real Chromium sessions, signed in at the real provider.

Each browser signs in through the development provider. The provider copies a user's non-standard
claims into the ID token, so setting ``sid`` before a sign-in gives that browser's session its own
provider session id, as Keycloak gives each browser its own. Logout tokens are POSTed to the live
server over HTTP, as the provider's server would, signed with the development provider's own key:
the one its JWKS publishes and Aether fetches.
"""

import pytest
import requests
from playwright.sync_api import Page, expect

from accounts.models import BrowserSession, User
from accounts.sessions import session_store
from tests.signin import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def expect_visitor(page: Page) -> None:
    """The next page is the visitor's: the landing page with "Sign in", no "Sign out"."""
    page.goto("/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def expect_signed_in(page: Page, name: str) -> None:
    page.goto("/")
    expect(page.locator(".user-name")).to_have_text(name)


def session_key_of(page: Page) -> str:
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    return cookie["value"]


def send_logout_token(live_server, token: str) -> requests.Response:
    return requests.post(
        f"{live_server.url}/oidc/backchannel-logout/", data={"logout_token": token}, timeout=10
    )


@pytest.fixture
def ada_and_grace(open_page, live_server, dev_provider) -> dict[str, Page]:
    """Ada signed in on a laptop and a phone (two provider sessions), Grace on her own laptop."""
    pages = {}
    for name, sub, sid in (
        ("ada-laptop", "ada-bc", "op-ada-laptop"),
        ("ada-phone", "ada-bc", "op-ada-phone"),
        ("grace-laptop", "grace-bc", "op-grace-laptop"),
    ):
        page = open_page()
        person = "Ada Lovelace" if sub == "ada-bc" else "Grace Hopper"
        sign_in(page, live_server.url, sub=sub, email=f"{sub}@example.com", name=person, sid=sid)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        pages[name] = page
    assert BrowserSession.objects.filter(user__sub="ada-bc").count() == 2
    return pages


def test_a_logout_token_with_a_sid_ends_that_browser_session_only(
    ada_and_grace, live_server, dev_provider, screenshot
):
    response = send_logout_token(live_server, dev_provider.logout_token(sub="ada-bc", sid="op-ada-laptop"))

    assert response.status_code == 200
    expect_visitor(ada_and_grace["ada-laptop"])
    screenshot(ada_and_grace["ada-laptop"], "backchannel-logout-signed-out")
    expect_signed_in(ada_and_grace["ada-phone"], "Ada Lovelace")
    expect_signed_in(ada_and_grace["grace-laptop"], "Grace Hopper")


def test_a_sub_only_logout_token_ends_all_of_that_users_browser_sessions_and_nobody_elses(
    ada_and_grace, live_server, dev_provider
):
    response = send_logout_token(live_server, dev_provider.logout_token(sub="ada-bc"))

    assert response.status_code == 200
    expect_visitor(ada_and_grace["ada-laptop"])
    expect_visitor(ada_and_grace["ada-phone"])
    expect_signed_in(ada_and_grace["grace-laptop"], "Grace Hopper")


def test_a_replayed_logout_token_ends_nothing(ada_and_grace, open_page, live_server, dev_provider):
    token = dev_provider.logout_token(sub="ada-bc", sid="op-ada-laptop")
    assert send_logout_token(live_server, token).status_code == 200
    laptop = open_page()
    sign_in(
        laptop,
        live_server.url,
        sub="ada-bc",
        email="ada-bc@example.com",
        name="Ada Lovelace",
        sid="op-ada-laptop",
    )

    response = send_logout_token(live_server, token)

    assert response.status_code == 400
    assert "used before" in response.json()["error_description"]
    expect_signed_in(laptop, "Ada Lovelace")


def test_deactivating_a_user_in_the_admin_ends_both_of_their_browser_sessions_at_once(
    ada_and_grace, open_page, make_user, screenshot
):
    ada = User.objects.get(sub="ada-bc")
    keys = [session_key_of(ada_and_grace["ada-laptop"]), session_key_of(ada_and_grace["ada-phone"])]
    staff = make_user(email="root@example.com", is_staff=True, is_superuser=True)
    admin = open_page(user=staff)
    admin.goto(f"/admin/accounts/user/{ada.pk}/change/")
    expect(admin.get_by_text("signs this user out everywhere at once")).to_be_visible()
    screenshot(admin, "admin-user-page")

    admin.get_by_label("Active").uncheck()
    admin.get_by_role("button", name="Save", exact=True).click()

    expect(admin.locator(".messagelist")).to_contain_text("Deactivated ada-bc@example.com: 2 sessions ended.")
    screenshot(admin, "admin-user-deactivated")
    assert not any(session_store().exists(key) for key in keys)
    # Turned active again, Ada still has to sign in anew: her sessions are gone, not merely refused.
    User.objects.filter(pk=ada.pk).update(is_active=True)
    expect_visitor(ada_and_grace["ada-laptop"])
    expect_visitor(ada_and_grace["ada-phone"])
    expect_signed_in(ada_and_grace["grace-laptop"], "Grace Hopper")
