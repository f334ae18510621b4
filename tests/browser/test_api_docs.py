"""``/api/docs``: Swagger UI from this server's own files, under the site's CSP (default-src
'self'), listing every operation of the schema."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Tab
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
# Playwright's init scripts run outside the page's CSP: this one records what the CSP refuses.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_api_docs_list_every_operation_under_the_csp(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    schema = json.loads((ROOT / "openapi.json").read_text())
    operations = [
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    ]
    tab = Tab(browser, live_server, shots, "api-docs")
    tab.context.add_init_script(RECORD_VIOLATIONS)
    page = tab.page
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    for method, path in [*operations[:3], ("GET", "/api/users/{user_id}")]:
        expect(page.locator(f".opblock-{method.lower()} [data-path='{path}']")).to_be_visible()
    # Open an operation: the arrows and icons it draws must pass the CSP too.
    page.locator(".opblock-summary-control").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    expect(page.locator("section.models")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == []
    assert tab.foreign_requests() == []
    tab.shot("docs")
    tab.close()
