"""The API documentation page renders in a real browser under the site's strict CSP."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_with_no_csp_violation(live_server, page):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{live_server.url}/api/v1/docs/")

    page.get_by_text("Aether API").first.wait_for()
    operation = page.locator(".opblock-summary-path", has_text="/api/v1/notebooks/search")
    operation.first.wait_for()
    assert operation.first.is_visible()
    assert violations == []
