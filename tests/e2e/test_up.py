"""`openbank up` for real: four processes on their ports, discovery answers, Ctrl-C stops them all."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from openbank_cli.main import DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD
from tests.e2e.conftest import PROCESSES, nothing_listens_on, start_up, stop


def test_up_serves_every_process_and_stops_cleanly_then_reuses_its_data(up_env):
    process, banner = start_up(up_env)
    gateway = up_env["OPENBANK_ISSUER"]
    try:
        assert f"curl -s {gateway}/.well-known/openid-configuration" in banner
        assert "zhang.wei / sandbox" in banner
        discovery = httpx.get(f"{gateway}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == gateway
        for name in PROCESSES:
            port = up_env[f"OPENBANK_{name.upper()}_PORT"]
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200 and ready.json()["Service"] == name
            assert ready.headers["x-fapi-interaction-id"]
        # Over real HTTP between processes: create, reset, and isolate a second tenant.
        created = httpx.post(f"{gateway}/sandbox/v1/tenants", json={"Name": "team-e2e"}, timeout=30)
        assert created.status_code == 201, created.text
        token = created.json()["InitialAccessToken"]
        reset = httpx.post(
            f"{gateway}/sandbox/v1/reset", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert reset.status_code == 200, reset.text
        demo_token = (Path(up_env["OPENBANK_VAR_DIR"]) / "demo-initial-access-token").read_text().strip()
        assert demo_token in banner
        # A token from the gateway opens a service through the front door (the service checks the
        # gateway's HMAC-signed caller assertion, over real HTTP).
        app = httpx.post(f"{gateway}/sandbox/v1/apps", headers={"Authorization": f"Bearer {demo_token}"},
                         json={"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"]})  # fmt: skip
        assert app.status_code == 201, app.text
        token = httpx.post(f"{gateway}/oauth2/token", data={"grant_type": "client_credentials", "scope": "lending"},
                           auth=(app.json()["client_id"], app.json()["client_secret"])).json()["access_token"]  # fmt: skip
        whoami = httpx.get(f"{gateway}/sandbox/v1/whoami/loans", headers={"Authorization": f"Bearer {token}"})
        assert whoami.status_code == 200, whoami.text
        assert whoami.json()["Data"]["TenantId"] == "demo"
        loans_port = up_env["OPENBANK_LOANS_PORT"]
        assert (
            httpx.get(
                f"http://127.0.0.1:{loans_port}/whoami", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 401
        )
    finally:
        assert stop(process) == 0
    for name in PROCESSES:
        assert nothing_listens_on(int(up_env[f"OPENBANK_{name.upper()}_PORT"])), f"{name} still listening"

    process, banner = start_up(up_env)
    try:
        assert demo_token in banner  # same data, same token
        # The demo tenant's portal login, printed and working after a restart (one account, not a second one).
        assert f"portal login      {DEMO_PORTAL_EMAIL} / {DEMO_PORTAL_PASSWORD}" in banner
        with httpx.Client(base_url=gateway) as browser:
            page = browser.get("/portal/sign-in")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            signed_in = browser.post("/portal/sign-in", data={"csrf": csrf, "email": DEMO_PORTAL_EMAIL,
                                                              "password": DEMO_PORTAL_PASSWORD})  # fmt: skip
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/portal"
            dashboard = browser.get("/portal").text
            assert 'id="tenant-id">demo<' in dashboard and demo_token in dashboard
        again = httpx.post(f"{gateway}/sandbox/v1/tenants", json={"Name": "team-e2e"}, timeout=30)
        assert again.status_code == 409  # the tenant made in the first run is still there
    finally:
        assert stop(process) == 0


def test_a_port_in_use_names_the_port_and_the_variable(up_env):
    port = int(up_env["OPENBANK_PAYMENTS_PORT"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "openbank_cli.main", "up"],
            env=up_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(port) in result.stderr and "OPENBANK_PAYMENTS_PORT" in result.stderr
