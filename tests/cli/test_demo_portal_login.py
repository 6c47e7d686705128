"""`openbank up`'s demo tenant comes with a developer-portal login (README "Two commands"): made once, found again
on every later start, and it opens the portal on the demo tenant."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from gateway.portal.models import DeveloperAccount, PortalSession
from openbank_cli.main import DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD, DEMO_TENANT, provision_demo
from tests.gateway.portal_helpers import browser_for, csrf_of


def _accounts_of_demo(stack) -> int:
    with stack.db("gateway").read_session() as session:
        return session.scalar(
            select(func.count())
            .select_from(DeveloperAccount)
            .where(DeveloperAccount.tenant_id == DEMO_TENANT)
        )


def _sign_in(stack, email: str, password: str):
    browser = browser_for(stack)
    csrf = csrf_of(browser.get("/portal/sign-in").text)
    answer = browser.post("/portal/sign-in", data={"csrf": csrf, "email": email, "password": password},
                          follow_redirects=False)  # fmt: skip
    return browser, answer


def test_the_demo_tenant_gets_one_portal_login_that_shows_it_across_restarts(stack, tmp_path):
    tenants, gateway_db = stack.gateway.app.state.tenant_service, stack.db("gateway")
    try:
        first = provision_demo(tmp_path, tenants, gateway_db)  # the first `openbank up`
        second = provision_demo(tmp_path, tenants, gateway_db)  # every later one: same data, nothing new
        assert first.portal_email == second.portal_email == DEMO_PORTAL_EMAIL
        assert second.token == first.token
        assert _accounts_of_demo(stack) == 1

        browser, signed_in = _sign_in(stack, DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/portal"
        dashboard = browser.get("/portal").text
        assert f'id="tenant-id">{DEMO_TENANT}<' in dashboard
        assert f'id="initial-access-token">{first.token}<' in dashboard
        _, wrong = _sign_in(stack, DEMO_PORTAL_EMAIL, "not-the-demo-password")
        assert wrong.status_code == 401

        # var/ lost the token file: the CLI issues a new token, and the portal shows that one, not the dead one.
        (tmp_path / f"{DEMO_TENANT}-initial-access-token").unlink()
        third = provision_demo(tmp_path, tenants, gateway_db)
        assert third.token != first.token and third.portal_email == DEMO_PORTAL_EMAIL
        assert _accounts_of_demo(stack) == 1
        assert f'id="initial-access-token">{third.token}<' in browser.get("/portal").text
    finally:
        with gateway_db.write_session() as session:
            ids = select(DeveloperAccount.developer_id).where(DeveloperAccount.tenant_id == DEMO_TENANT)
            session.execute(delete(PortalSession).where(PortalSession.developer_id.in_(ids)))
            session.execute(delete(DeveloperAccount).where(DeveloperAccount.tenant_id == DEMO_TENANT))
            session.commit()
        tenants.delete(DEMO_TENANT)


def test_a_demo_email_taken_by_another_tenant_is_left_alone(stack, tmp_path, new_tenant):
    """Someone signed up with the demo email before an upgraded `openbank up` first provisioned the login: their
    account stays theirs, and the demo tenant gets none (the banner says so) rather than a failed start."""
    from gateway.portal.service import ensure_developer_account

    tenants, gateway_db = stack.gateway.app.state.tenant_service, stack.db("gateway")
    other_tenant, other_token = new_tenant("early")
    taken = ensure_developer_account(gateway_db, tenant_id=other_tenant, email=DEMO_PORTAL_EMAIL,
                                     password="their-own-password", initial_access_token=other_token)  # fmt: skip
    assert taken is not None
    try:
        demo = provision_demo(tmp_path, tenants, gateway_db)
        assert demo.portal_email is None and _accounts_of_demo(stack) == 0
        browser, signed_in = _sign_in(stack, DEMO_PORTAL_EMAIL, "their-own-password")
        assert signed_in.status_code == 303
        assert f'id="tenant-id">{other_tenant}<' in browser.get("/portal").text
    finally:
        with gateway_db.write_session() as session:
            session.execute(delete(PortalSession).where(PortalSession.developer_id == taken.developer_id))
            session.execute(
                delete(DeveloperAccount).where(DeveloperAccount.developer_id == taken.developer_id)
            )
            session.commit()
        tenants.delete(DEMO_TENANT)
