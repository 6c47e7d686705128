"""What the front door adds: GET /whoami through the gateway (token + DPoP checks, caller assertion, proxy) against
the same route called on the service directly with a caller assertion, both over real HTTP on loopback.

Runs the gateway and the accounts service as processes on fresh SQLite storage; requests are sequential (one
connection each way), so the difference of the medians is the gateway's own cost per call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import httpx

from loadtests.partner import Partner
from loadtests.processes import cpu_seconds, free_port, wait_ready
from openbank_cli.stack import LocalStack
from openbank_kit.settings import load_settings


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    samples_ms = sorted(samples_ms)
    return statistics.median(samples_ms), samples_ms[max(0, int(len(samples_ms) * 0.99) - 1)]


def run_gateway_latency_benchmark(calls: int, emit: Callable[[str], None]) -> dict:
    gateway_port, accounts_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{gateway_port}"
    with tempfile.TemporaryDirectory(prefix="openbank-latency-bench-") as var_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
        env.update({"OPENBANK_VAR_DIR": var_dir, "OPENBANK_ISSUER": issuer, "OPENBANK_GATEWAY_PORT": str(gateway_port),
                    "OPENBANK_ACCOUNTS_PORT": str(accounts_port), "OPENBANK_LOG_LEVEL": "WARNING",
                    "OPENBANK_WORLD_RETAIL_CUSTOMERS": "5", "OPENBANK_WORLD_SMES": "1"})  # fmt: skip
        settings = load_settings(var_dir=var_dir, issuer=issuer, world_retail_customers=5, world_smes=1)
        stack = LocalStack(settings)
        stack.migrate()
        iat = stack.tenant_service().create("bench").initial_access_token
        stack.dispose()
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    app,
                    "--factory",
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for app, port in (
                ("gateway.app:create_app", gateway_port),
                ("services.accounts.app:create_app", accounts_port),
            )
        ]
        try:
            for port in (gateway_port, accounts_port):
                wait_ready(f"http://127.0.0.1:{port}")
            return _measure(settings, f"http://127.0.0.1:{accounts_port}", iat, calls, emit,
                            gateway_pid=processes[0].pid, service_pid=processes[1].pid)  # fmt: skip
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


def _measure(
    settings, accounts: str, initial_token: str, calls: int, emit, gateway_pid: int, service_pid: int
) -> dict:
    issuer = settings.issuer
    partner = Partner()
    registration = httpx.post(f"{issuer}/oauth2/register", json=partner.fapi2_metadata(),
                              headers={"Authorization": f"Bearer {initial_token}"}).json()  # fmt: skip
    partner.client_id = registration["client_id"]
    form = partner.client_credentials_form(scope="accounts", aud=issuer)
    token_url = f"{issuer}/oauth2/token"
    token = httpx.post(token_url, data=form, headers={"DPoP": partner.dpop("POST", token_url)}).json()[
        "access_token"
    ]
    whoami_url = f"{issuer}/sandbox/v1/whoami/accounts"
    proofs = [partner.dpop("GET", whoami_url, access_token=token) for _ in range(calls)]

    with httpx.Client(timeout=10) as client:
        gateway_cpu, service_cpu = cpu_seconds(gateway_pid), cpu_seconds(service_pid)
        through_ms = []
        for proof in proofs:
            started = time.perf_counter()
            response = client.get(whoami_url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
            through_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
        gateway_cpu = (cpu_seconds(gateway_pid) - gateway_cpu) / calls * 1000
        service_cpu_through = (cpu_seconds(service_pid) - service_cpu) / calls * 1000
        assertion = _assertion_signed_like_the_gateway(settings, token)
        direct_ms = []
        for _ in range(calls):
            started = time.perf_counter()
            response = client.get(f"{accounts}/whoami", headers={"x-openbank-caller": assertion})
            direct_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    through = _percentiles(through_ms)
    direct = _percentiles(direct_ms)
    result = {"through_p50_ms": through[0], "through_p99_ms": through[1], "direct_p50_ms": direct[0],
              "direct_p99_ms": direct[1], "added_p50_ms": through[0] - direct[0], "added_p99_ms": through[1] - direct[1],
              "gateway_cpu_ms_per_call": gateway_cpu, "service_cpu_ms_per_call": service_cpu_through}  # fmt: skip
    emit(
        f"GET /whoami over {calls} sequential calls: through the gateway p50 {through[0]:.2f} ms / p99 {through[1]:.2f} ms; "
        f"service direct p50 {direct[0]:.2f} ms / p99 {direct[1]:.2f} ms; "
        f"gateway adds p50 {result['added_p50_ms']:.2f} ms / p99 {result['added_p99_ms']:.2f} ms; "
        f"CPU per call: gateway {gateway_cpu:.2f} ms, service {service_cpu_through:.2f} ms"
    )
    return result


def _assertion_signed_like_the_gateway(settings, access_token: str) -> str:
    """The caller assertion the gateway would forward (the access token's claims, signed with the caller key)."""
    from joserfc import jwt

    from gateway.oauth.keys import KeyStore
    from openbank_kit.caller import caller_key, sign_caller
    from openbank_kit.db import Database
    from openbank_kit.ids import new_id
    from openbank_kit.internal_auth import internal_token_for

    db = Database("gateway", settings)
    try:
        claims = jwt.decode(access_token, KeyStore(db).verification_keys(), algorithms=["ES256"]).claims
        # Valid for 60 s: enough for the direct leg of the benchmark.
        key = caller_key(internal_token_for(settings))
        return sign_caller(key, settings.issuer, "accounts", claims, new_id("cal"))
    finally:
        db.dispose()
