"""What people do in a browser: a developer registers an app in the portal, a user signs in to
it through consent, denies it, and takes access back. Real Chromium, real server, real callback.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlencode

import httpx
from playwright.sync_api import Browser, expect

from tests.browser.callback import CallbackApp
from tests.browser.conftest import Tab
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, unique


def _authorize_link(app: CallbackApp, state: str, redirect_uri: str = "") -> str:
    """The sign-in link as the developer guide builds it (``scopes``, ``+``-separated)."""
    query = urlencode(
        {
            "client_id": app.client_id,
            "scopes": "user.read user.email",
            "redirect_uri": redirect_uri or app.redirect_uri,
            "response_type": "code",
            "state": state,
        }
    )
    return f"/oauth/authorize?{query}"


def _sign_up(tab: Tab, username: str) -> None:
    page = tab.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def _copy(tab: Tab, field_id: str) -> str:
    """Press the Copy button next to ``field_id``; what the clipboard then holds."""
    page = tab.page
    page.locator(f"button[data-copy='{field_id}']").click()
    expect(page.locator(f"#{field_id}-status")).to_have_text("Copied to the clipboard.")
    copied: str = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator(f"#{field_id}").inner_text().strip()
    return copied


def _developer_registers_app(tab: Tab, app: CallbackApp, developer: str) -> str:
    """Sign up, register the app in the portal, copy its secret; rotate it; edit its URIs."""
    page = tab.page
    page.goto("/")
    tab.check("home-anonymous")
    page.get_by_role("link", name="Sign up").click()
    tab.check("signup")
    _sign_up(tab, developer)
    page.wait_for_url(tab.base + "/")
    tab.check("home-signed-in")

    page.get_by_role("link", name="Developers", exact=True).click()
    expect(page.get_by_text("You have not registered an application yet.")).to_be_visible()
    tab.check("developers-empty")
    page.get_by_role("link", name="New application").click()
    expect(page.get_by_role("checkbox", name="Authorization code")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Client credentials")).not_to_be_checked()
    tab.check("new-application")

    # A redirect URI this server refuses: the page says why and keeps what was typed.
    page.get_by_role("textbox", name="Name", exact=True).fill("Party Planner")
    page.get_by_label("Description").fill("Plans parties with your friends.")
    page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(
        "http://planner.example/callback"
    )
    page.get_by_role("button", name="Register application").click()
    expect(page.get_by_role("alert")).to_contain_text("must use https")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Party Planner")
    tab.check("new-application-error")

    page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(app.redirect_uri)
    page.get_by_role("button", name="Register application").click()
    expect(page.get_by_role("heading", name="Party Planner is registered")).to_be_visible()
    expect(page.get_by_text("this is the only time it is shown")).to_be_visible()
    tab.check("application-created")
    app.client_id = _copy(tab, "client-id")
    first_secret = _copy(tab, "client-secret")
    assert first_secret.startswith("wtps_")

    # Reloading the page registers nothing more and shows the secret no more.
    page.reload()
    expect(page.get_by_role("heading", name="Secret already shown")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "This secret was already shown; rotate it to get a new one."
    )
    assert first_secret not in page.content()
    tab.check("secret-already-shown")

    page.get_by_role("link", name="manage the application").click()
    tab.check("application")
    assert first_secret not in page.content()

    # Rotate, through the confirmation page: the old secret stops working at once.
    page.get_by_role("link", name="Rotate secret…").click()
    tab.check("rotate-secret-confirm")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", name="New client secret for Party Planner")).to_be_visible()
    tab.check("secret-rotated")
    secret = _copy(tab, "client-secret")
    assert secret.startswith("wtps_") and secret != first_secret
    for candidate, error in ((first_secret, "invalid_client"), (secret, "invalid_grant")):
        r = httpx.post(
            f"{tab.base}/api/token",
            timeout=30,
            json={"code": "nope", "grand_type": "authorization_code", "client_id": app.client_id},
            headers={"Authorization": f"Bearer {candidate}"},
        )
        assert r.json()["error"] == error

    # Add a second redirect URI.
    page.get_by_role("link", name="manage the application").click()
    page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(
        f"{app.redirect_uri}\nhttps://planner.example/cb"
    )
    page.get_by_role("button", name="Save redirect URIs").click()
    expect(page.locator(".notice.ok")).to_have_text("Saved.")
    expect(page.get_by_role("textbox", name="Redirect URIs", exact=True)).to_have_value(
        f"{app.redirect_uri}\nhttps://planner.example/cb"
    )
    tab.check("application-saved")

    page.get_by_role("link", name="Developers", exact=True).click()
    expect(page.get_by_role("link", name="Manage Party Planner")).to_be_visible()
    tab.check("developers-list")
    page.get_by_role("link", name="Manage Party Planner").click()
    return secret


def test_developer_registers_app_user_signs_in_and_revokes(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    developer, user = unique("dev"), unique("user")
    httpx.post(
        f"{live_server.url}/api/users",
        timeout=30,
        json={"username": user, "email": f"{user}@example.com", "password": PASSWORD},
    ).raise_for_status()
    with CallbackApp(live_server.url) as app:
        dev_tab = Tab(
            browser,
            live_server,
            shots,
            "developer",
            permissions=["clipboard-read", "clipboard-write"],
        )
        app.client_secret = _developer_registers_app(dev_tab, app, developer)

        user_tab = Tab(browser, live_server, shots, "user")
        page = user_tab.page

        # A link with a redirect URI that is not registered: an error page, no redirect.
        response = page.goto(_authorize_link(app, "s1", redirect_uri=f"{app.base}/elsewhere"))
        assert response is not None and response.status == 400
        expect(page.get_by_role("alert")).to_have_text(
            "This redirect_uri is not registered for this application."
        )
        user_tab.check("error-unregistered-redirect-uri")

        # The real link: sign in first (a wrong password, then the right one), then consent.
        state = secrets.token_urlsafe(8)
        page.goto(_authorize_link(app, state))
        assert page.url.startswith(f"{live_server.url}/login?next=")
        user_tab.check("login-for-authorize")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
        user_tab.check("login-error")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("heading", level=1)).to_contain_text("Party Planner")
        expect(page.get_by_text(f"Made by the developer {developer}, not by")).to_be_visible()
        expect(page.locator("figure.developer-words")).to_contain_text(
            "Description from the developer"
        )
        expect(page.locator("li[data-scope='user.email']")).to_have_text("See your email address")
        expect(page.locator(".redirect-host")).to_have_text("127.0.0.1")
        user_tab.check("consent")
        page.get_by_role("button", name="Allow").click()

        page.wait_for_url(f"{app.redirect_uri}?*")
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
        user_tab.shot("callback")
        (visit,) = app.visits
        assert visit.query["state"] == state
        assert visit.query["iss"] == live_server.url
        assert visit.me_status == 200
        assert visit.me["username"] == user and visit.me["email"] == f"{user}@example.com"
        access_token = visit.token_response["access_token"]

        # The user takes access back; the app's token stops working.
        page.goto("/settings/authorizations")
        item = page.get_by_role("listitem").filter(has_text="Party Planner")
        expect(item.locator("li[data-scope='user.read']")).to_have_text(
            "See your username and display name"
        )
        user_tab.check("authorizations")
        item.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("status")).to_contain_text("Access revoked")
        expect(page.get_by_text("Party Planner")).to_have_count(0)
        user_tab.check("authorizations-revoked")
        me = httpx.get(
            f"{live_server.url}/api/users/@me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=30,
        )
        assert me.status_code == 401
        assert 'error="invalid_token"' in me.headers["www-authenticate"]

        # The developer deletes the application, through the confirmation page.
        dev_page = dev_tab.page
        dev_page.get_by_role("link", name="Delete application…").click()
        dev_tab.check("delete-confirm")
        dev_page.get_by_label("I understand").check()
        dev_page.get_by_role("button", name="Delete application").click()
        dev_page.wait_for_url(f"{live_server.url}/developers?deleted=1")
        expect(dev_page.get_by_role("status")).to_contain_text("The application was deleted.")
        dev_tab.check("developers-after-delete")

        assert dev_tab.foreign_requests() == []
        assert user_tab.foreign_requests(callback=app.base) == []
        dev_tab.close()
        user_tab.close()


def test_new_user_signs_up_from_the_link_and_denies(
    live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    with (
        CallbackApp(live_server.url) as app,
        httpx.Client(base_url=live_server.url, timeout=30) as api,
    ):
        developer = unique("dev")
        api.post(
            "/api/users",
            json={"username": developer, "email": f"{developer}@example.com", "password": PASSWORD},
        ).raise_for_status()
        api.post(
            "/api/session", json={"username": developer, "password": PASSWORD}
        ).raise_for_status()
        created = api.post(
            "/api/applications", json={"name": "Snack Tracker", "redirect_uris": [app.redirect_uri]}
        ).json()
        app.client_id, app.client_secret = created["client_id"], created["client_secret"]

        tab = Tab(browser, live_server, shots, "newcomer")
        page = tab.page
        page.goto(_authorize_link(app, "deny-state"))
        page.get_by_role("link", name="Create an account").click()
        tab.check("signup-for-authorize")
        user = unique("new")
        _sign_up(tab, user)

        expect(page.get_by_role("heading", level=1)).to_contain_text("Snack Tracker")
        tab.check("consent-after-signup")
        page.get_by_role("button", name="Deny").click()

        page.wait_for_url(f"{app.redirect_uri}?*")
        tab.shot("callback-denied")
        (visit,) = app.visits
        assert visit.query["error"] == "access_denied"
        assert visit.query["state"] == "deny-state"
        assert visit.query["iss"] == live_server.url
        assert "code" not in visit.query and visit.token_response == {}

        page.goto("/settings/authorizations")
        expect(page.get_by_text("You have not authorized any application.")).to_be_visible()
        tab.check("authorizations-empty")

        # Signing out ends the session: the settings page asks to sign in again.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{live_server.url}/login")
        page.goto("/settings/authorizations")
        assert page.url.startswith(f"{live_server.url}/login?next=")

        assert tab.foreign_requests(callback=app.base) == []
        tab.close()


def test_documentation_pages(live_server: LiveServer, browser: Browser, shots: Path) -> None:
    tab = Tab(browser, live_server, shots, "docs")
    page = tab.page
    for path, label, heading in (
        ("/developers/docs/oauth", "docs-oauth", "OAuth guide"),
        ("/developers/docs/oauth/scopes", "docs-scopes", "Scopes"),
        ("/developers/docs/user", "docs-user", "User API"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        expect(page.locator("main")).to_contain_text(live_server.url)
        tab.check(label)
    response = page.goto("/developers/docs/nothing-here")
    assert response is not None and response.status == 404
    tab.check("docs-not-found")
    assert tab.foreign_requests() == []
    tab.close()
