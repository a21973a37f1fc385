"""A staff member signs in through single sign-on and manages onboarding in the admin, in Chromium.

The staff member holds only the staff role at the real development provider: no superuser, no
permission given by hand. Every admin page visited is saved at 1280x800 under test-artifacts/.
"""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import user_create
from aether.devprovider import set_provider_user
from onboarding.models import Blueprint, OnboardingRun, OnboardingStatus, UserOnboarding
from onboarding.permissions import ONBOARDING_MANAGERS
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user
from tests.signin import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

STAFF = {"sub": "sam-staff", "email": "sam@example.com", "name": "Sam Staff"}


@pytest.fixture
def people(fail_step, monkeypatch) -> dict[str, User]:
    """Users of each onboarding status; the failed one failed at its documents step."""
    done = user_create(sub="done-1", email="done@example.com", full_name="Dana Done")
    onboard_user(user=done, trigger="login")
    broken = user_create(sub="broken-1", email="broken@example.com", full_name="Bo Broken")
    fail_step("documents")  # failure injection, undone below
    onboard_user(user=broken, trigger="login")
    monkeypatch.undo()
    fresh = user_create(sub="fresh-1", email="fresh@example.com", full_name="Fran Fresh")
    return {"completed": done, "failed": broken, "not_started": fresh}


@pytest.fixture
def staff_page(open_page, live_server, dev_provider, settings) -> Page:
    settings.OIDC_STAFF_ROLES = ["aether-staff"]
    settings.OIDC_SUPERUSER_ROLES = ["aether-admin"]
    page = open_page()
    sign_in(page, live_server.url, **STAFF, realm_access={"roles": ["aether-staff"]})
    return page


def fits_the_window(page: Page) -> bool:
    """Nothing is wider than the window, and no list or inline scrolls sideways within its box."""
    return page.evaluate(
        """() => document.documentElement.scrollWidth <= window.innerWidth
            && [...document.querySelectorAll('.results, .inline-group, .module')]
                .every(box => box.scrollWidth <= box.clientWidth + 1)"""
    )


def listed_emails(page: Page):
    return page.locator("#result_list th.field-email a")


def test_staff_from_single_sign_on_manage_onboarding_in_the_admin(
    staff_page, live_server, people, screenshot
):
    page = staff_page
    staff = User.objects.get(sub=STAFF["sub"])
    assert (staff.is_staff, staff.is_superuser) == (True, False)
    assert list(staff.groups.values_list("name", flat=True)) == [ONBOARDING_MANAGERS]

    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_have_text("Aether administration")
    expect(page).to_have_title("Site administration | Aether administration")
    screenshot(page, "admin-index")

    # The users: find one by e-mail, filter by status; every column fits a 1280-pixel screen.
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.locator("#result_list")).to_be_visible()
    for column in ("E-mail address", "Full name", "Onboarding", "Staff", "Created"):
        expect(page.locator("#result_list thead")).to_contain_text(column, ignore_case=True)
    assert fits_the_window(page)
    screenshot(page, "admin-users")
    page.locator("#searchbar").fill("broken@example.com")
    page.locator("#changelist-search input[type=submit]").click()
    expect(listed_emails(page)).to_have_text(["broken@example.com"])
    page.goto(f"{live_server.url}/admin/accounts/user/")
    page.locator("#changelist-filter").get_by_role("link", name="Failed").click()
    expect(listed_emails(page)).to_have_text(["broken@example.com"])

    # Re-run from the list: the failed user completes.
    page.locator("#result_list tbody input.action-select").first.check()
    page.locator("select[name=action]").select_option("rerun_onboarding")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Re-ran onboarding for 1 user: 1 succeeded, 0 failed."
    )
    assert UserOnboarding.objects.get(user=people["failed"]).status == OnboardingStatus.COMPLETED

    # Re-run from the user's page, then read the runs with their steps.
    page.goto(f"{live_server.url}/admin/accounts/user/{people['not_started'].pk}/change/")
    expect(page.locator("h1")).to_have_text("View user")
    expect(page.locator("input[name=is_superuser]")).to_have_count(0)
    page.get_by_role("button", name="Re-run onboarding").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Re-ran onboarding for fresh@example.com: completed; "
        "created 1 personal space, 1 notebook, 3 documents, 1 agent."
    )
    expect(page.locator("#onboarding_runs-group")).to_contain_text("Admin action")
    expect(page.locator("#onboarding_runs-group")).to_contain_text("Succeeded")
    expect(page.get_by_role("link", name="See the 1 run")).to_be_visible()
    assert fits_the_window(page)
    screenshot(page, "admin-user")

    page.goto(f"{live_server.url}/admin/accounts/user/{people['failed'].pk}/change/")
    page.get_by_role("link", name="See all 2 runs").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("Admin action (forced)")
    assert fits_the_window(page)
    screenshot(page, "admin-runs")
    page.locator("#result_list tbody tr").last.locator("th a").click()
    expect(page.locator(".field-failed_step")).to_contain_text("documents")
    expect(page.locator(".field-created_words")).to_contain_text("nothing: what the run made was rolled back")
    expect(page.locator("#steps-group")).to_contain_text("Rolled back")
    screenshot(page, "admin-run")

    # Publish a blueprint version: a typo is an error on the form, what was typed is kept.
    page.goto(f"{live_server.url}/admin/onboarding/blueprint/")
    page.get_by_role("link", name="Publish a new version").click()
    expect(page.locator("h1")).to_have_text("Publish a new blueprint version")
    screenshot(page, "admin-blueprint-publish")
    page.locator("input[name=space_name_template]").fill("{nme}'s space")
    blank = page.locator(".onboarding-document").last
    blank.locator("input[name$=-name]").fill("Release notes.txt")
    blank.locator("input[name$=-order]").fill("4")
    blank.locator("textarea[name$=-content]").fill("What changed in this version.\n")
    page.locator("input[name=change_note]").fill("Add the release notes")
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator(".errornote")).to_contain_text("Nothing was published.")
    expect(page.locator(".field-space_name_template .errorlist")).to_contain_text(
        "Unknown placeholder {nme}: the only one is {name}"
    )
    expect(page.locator("input[name=space_name_template]")).to_have_value("{nme}'s space")
    expect(page.locator("input[value='Release notes.txt']")).to_have_count(1)
    assert fits_the_window(page)
    screenshot(page, "admin-blueprint-publish-error")
    page.locator("input[name=space_name_template]").fill("{name}'s space")
    page.get_by_role("button", name="Publish version 2").click()
    # The documents left as they were are not changed by the browser's line endings.
    expect(page.locator(".messagelist")).to_contain_text(
        "Published version 2 (space name template: “{name}'s Personal Space” → “{name}'s space”; "
        "added document “Release notes.txt”). New users receive it from now on"
    )
    screenshot(page, "admin-blueprints")
    published = blueprint_current()
    assert (published.version, published.created_by, published.change_note) == (
        2,
        staff,
        "Add the release notes",
    )
    assert published.documents.get(name="Release notes.txt").key == "release-notes"


def test_the_same_staff_member_cannot_touch_rights_or_delete_users_and_loses_access_with_the_role(
    staff_page, live_server, dev_provider, open_page, people, screenshot
):
    page = staff_page
    someone = people["completed"]
    admin = f"{live_server.url}/admin"

    assert page.goto(f"{admin}/auth/group/").status == 403
    assert page.goto(f"{admin}/auth/group/add/").status == 403
    assert page.goto(f"{admin}/auth/permission/").status == 404
    page.goto(f"{admin}/")
    expect(page.get_by_role("link", name="Groups")).to_have_count(0)

    # Nobody can be made superuser or deleted from here.
    page.goto(f"{admin}/accounts/user/{someone.pk}/change/")
    expect(page.locator("input[name=is_superuser]")).to_have_count(0)
    expect(page.locator("input[name=_save]")).to_have_count(0)
    assert page.goto(f"{admin}/accounts/user/{someone.pk}/delete/").status == 403
    page.goto(f"{admin}/accounts/user/")
    options = page.locator("select[name=action] option").all_inner_texts()
    assert [option for option in options if "Delete" in option] == []
    someone.refresh_from_db()
    assert (someone.is_superuser, someone.is_staff) == (False, False)

    # An address no value can match is refused with a page that says so.
    assert page.goto(f"{admin}/accounts/user/?q=%00").status == 400
    expect(page.locator("#content-main")).to_contain_text("holds a NUL character in its search or filter")
    screenshot(page, "admin-bad-parameter")

    # The provider takes the role away: the next sign-in takes the admin away.
    set_provider_user(
        dev_provider.url, STAFF["sub"], {"email": STAFF["email"], "realm_access": {"roles": []}}
    )
    again = open_page()
    sign_in(again, live_server.url, **STAFF, realm_access={"roles": []})
    response = again.goto(f"{admin}/")
    assert re.search(r"/admin/login/\?next=/admin/$", again.url), (response.status, again.url)
    staff = User.objects.get(sub=STAFF["sub"])
    assert (staff.is_staff, staff.groups.count()) == (False, 0)
    assert Group.objects.filter(name=ONBOARDING_MANAGERS).exists()
    assert Blueprint.objects.count() == 1 and OnboardingRun.objects.filter(actor=staff).count() == 0
