"""Portal sign-up, sign-in, sign-out, sessions and CSRF, through the HTML forms as a browser posts them."""

from __future__ import annotations

from gateway.portal.models import DeveloperAccount
from tests.gateway import portal_helpers
from tests.gateway.portal_helpers import PASSWORD, browser_for, csrf_of

developers = portal_helpers.developers  # the fixture


def test_sign_up_creates_a_tenant_and_shows_its_token_on_the_dashboard(stack, developers):
    developer = developers()
    page = developer.browser.get("/portal")
    assert page.status_code == 200
    assert f'id="tenant-id">{developer.team}<' in page.text
    token = developer.initial_access_token
    # The token shown is the tenant's real initial access token: the sandbox API accepts it.
    clock = stack.gateway.get("/sandbox/v1/clock", headers={"Authorization": f"Bearer {token}"})
    assert clock.status_code == 200 and clock.json()["Now"][:10] in page.text
    session_cookie = next(c for c in developer.browser.cookies.jar if c.name == "ob_portal")
    assert session_cookie.has_nonstandard_attr("HttpOnly") and session_cookie.path == "/portal"
    set_cookie = developer.browser.post("/portal/sign-in", data={
        "csrf": developer.csrf("/portal/sign-in"), "email": developer.email, "password": PASSWORD},
        follow_redirects=False).headers["set-cookie"]  # fmt: skip
    assert "httponly" in set_cookie.lower() and "samesite=lax" in set_cookie.lower()


def test_the_password_is_stored_as_a_salted_scrypt_hash(stack, developers):
    developer = developers()
    with stack.db("gateway").read_session() as session:
        account = session.query(DeveloperAccount).filter_by(email=developer.email).one()
    assert PASSWORD not in account.password_scrypt and len(account.password_scrypt) == 64
    assert len(bytes.fromhex(account.password_salt)) == 16


def test_sign_up_explains_bad_fields_and_creates_nothing(stack):
    browser = browser_for(stack)
    csrf = csrf_of(browser.get("/portal/sign-up").text)
    response = browser.post("/portal/sign-up", data={"csrf": csrf, "email": "not-an-email",
                                                     "password": "short", "team": "Bad Name!"})  # fmt: skip
    assert response.status_code == 400
    for field in ("email", "password", "team"):
        assert f'data-test="error-{field}"' in response.text
    assert "Bad Name!" in response.text  # the values typed come back
    assert stack.gateway.app.state.tenant_service.list_tenants() == [
        t for t in stack.gateway.app.state.tenant_service.list_tenants() if t.tenant_id != "Bad Name!"
    ]


def test_a_taken_email_or_team_is_refused_on_the_page(stack, developers):
    first = developers()
    browser = browser_for(stack)
    csrf = csrf_of(browser.get("/portal/sign-up?lang=en").text)
    same_email = browser.post("/portal/sign-up?lang=en", data={"csrf": csrf, "email": first.email,
                                                              "password": PASSWORD, "team": first.team + "x"})  # fmt: skip
    assert same_email.status_code == 400 and "This email already has an account" in same_email.text
    assert first.team + "x" not in [
        t.tenant_id for t in stack.gateway.app.state.tenant_service.list_tenants()
    ]
    same_team = browser.post("/portal/sign-up?lang=en", data={"csrf": csrf, "email": "other@example.com",
                                                             "password": PASSWORD, "team": first.team})  # fmt: skip
    assert same_team.status_code == 400 and "This team name is taken" in same_team.text


def test_sign_in_and_sign_out(stack, developers):
    developer = developers()
    browser = browser_for(stack)
    csrf = csrf_of(browser.get("/portal/sign-in").text)
    wrong = browser.post(
        "/portal/sign-in", data={"csrf": csrf, "email": developer.email, "password": "wrong-password"}
    )
    assert wrong.status_code == 401 and 'data-test="error-form"' in wrong.text
    right = browser.post("/portal/sign-in", data={"csrf": csrf, "email": developer.email.upper(),
                                                  "password": PASSWORD}, follow_redirects=False)  # fmt: skip
    assert right.status_code == 303
    assert developer.team in browser.get("/portal").text
    old_cookie = browser.cookies.get("ob_portal")
    out = browser.post("/portal/sign-out", data={"csrf": csrf_of(browser.get("/portal").text)},
                       follow_redirects=False)  # fmt: skip
    assert out.status_code == 303 and out.headers["location"] == "/portal/sign-in"
    # The session row is gone: replaying the old cookie does not sign anybody in.
    replay = browser_for(stack)
    replay.cookies.set("ob_portal", old_cookie, path="/portal")
    assert replay.get("/portal", follow_redirects=False).headers["location"] == "/portal/sign-in"


def test_pages_need_a_session(stack):
    browser = browser_for(stack)
    for path in ("/portal", "/portal/apps", "/portal/personas", "/portal/sandbox", "/portal/inspect/audit",
                 "/portal/quickstart", "/portal/classroom"):  # fmt: skip
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/portal/sign-in", path


def test_every_post_without_the_sessions_csrf_token_is_refused_with_403(stack, developers):
    developer = developers()
    for path, data in [("/portal/sign-out", {}), ("/portal/apps", {"name": "x", "profile": "sandbox-basic"}),
                       ("/portal/sandbox/reset", {"confirm": developer.team}),
                       ("/portal/sandbox/clock", {"days": "1"}),
                       ("/portal/classroom", {"team_count": "1"})]:  # fmt: skip
        for csrf in (None, "forged"):
            body = {**data, **({"csrf": csrf} if csrf else {})}
            response = developer.browser.post(path, data=body, follow_redirects=False)
            assert response.status_code == 403, (path, response.text)
    # Nothing happened: still signed in, no app, clock not moved.
    assert developer.browser.get("/portal/apps").text.count('data-test="app-row"') == 0
    # Sign-in and sign-up forms have their own (double-submit) token.
    anonymous = browser_for(stack)
    assert (
        anonymous.post("/portal/sign-in", data={"email": developer.email, "password": PASSWORD}).status_code
        == 403
    )
    assert (
        anonymous.post(
            "/portal/sign-up", data={"email": "a@b.cn", "password": PASSWORD, "team": "x-y"}
        ).status_code
        == 403
    )


def test_open_sign_up_off_refuses_the_portal_sign_up(stack, monkeypatch):
    monkeypatch.setattr(stack.gateway.app.state.portal, "open_signup", False)
    browser = browser_for(stack)
    page = browser.get("/portal/sign-up?lang=en")
    assert "Open sign-up is off" in page.text and 'id="signup-form"' not in page.text
    csrf = csrf_of(browser.get("/portal/sign-in").text)  # the same double-submit cookie serves both forms
    response = browser.post("/portal/sign-up", data={"csrf": csrf, "email": "x@example.com",
                                                     "password": PASSWORD, "team": "closed-team"})  # fmt: skip
    assert response.status_code == 403
    assert "closed-team" not in [t.tenant_id for t in stack.gateway.app.state.tenant_service.list_tenants()]


def test_the_language_switch_link_sets_a_cookie_and_comes_back(stack, developers):
    developer = developers()
    zh = developer.browser.get("/portal/apps")
    assert "应用" in zh.text and 'id="lang-switch"' in zh.text
    switched = developer.browser.get("/portal/lang/en?next=/portal/apps", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/portal/apps"
    assert "New app" in developer.browser.get("/portal/apps").text
    elsewhere = developer.browser.get("/portal/lang/zh?next=https://evil.example/", follow_redirects=False)
    assert elsewhere.headers["location"] == "/portal"
