"""Token endpoint rate: client_credentials with private_key_jwt and DPoP, against a real gateway process.

The gateway runs alone (uvicorn, one worker) on fresh SQLite storage; client assertions and DPoP proofs are
signed before the clock starts, so the figure is the server's, not the load generator's signing speed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import httpx

from loadtests.partner import Partner
from loadtests.processes import free_port, wait_ready  # the same partner-side code the tests use
from openbank_cli.stack import LocalStack
from openbank_kit.settings import load_settings


def run_token_benchmark(requests_total: int, concurrency: int, emit: Callable[[str], None]) -> dict:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="openbank-token-bench-") as var_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
        env.update({"OPENBANK_VAR_DIR": var_dir, "OPENBANK_ISSUER": issuer, "OPENBANK_GATEWAY_PORT": str(port),
                    "OPENBANK_WORLD_RETAIL_CUSTOMERS": "5", "OPENBANK_WORLD_SMES": "1", "OPENBANK_LOG_LEVEL": "WARNING"})  # fmt: skip
        settings = load_settings(var_dir=var_dir, issuer=issuer, world_retail_customers=5, world_smes=1)
        stack = LocalStack(settings)
        stack.migrate()
        token = stack.tenant_service().create("bench").initial_access_token
        stack.dispose()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--port", str(port),
             "--no-access-log", "--log-level", "warning"],  # fmt: skip
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_ready(issuer)
            partner = Partner()
            registration = httpx.post(f"{issuer}/oauth2/register", json=partner.fapi2_metadata(),
                                      headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
            partner.client_id = registration["client_id"]
            token_url = f"{issuer}/oauth2/token"
            prepared = [
                (partner.client_credentials_form(aud=issuer), partner.dpop("POST", token_url))
                for _ in range(requests_total)
            ]
            return _fire(token_url, prepared, concurrency, emit)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _fire(token_url: str, prepared: list, concurrency: int, emit) -> dict:
    latencies_ms: list[float] = []
    failures = [0]
    lock = threading.Lock()
    chunks = [prepared[index::concurrency] for index in range(concurrency)]

    def worker(chunk):
        with httpx.Client(timeout=10) as client:
            for form, proof in chunk:
                started = time.perf_counter()
                response = client.post(token_url, data=form, headers={"DPoP": proof})
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies_ms.append(elapsed)
                    if response.status_code != 200:
                        failures[0] += 1

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall_s = time.perf_counter() - started
    latencies_ms.sort()
    result = {
        "requests": len(prepared),
        "failures": failures[0],
        "tokens_per_s": (len(prepared) - failures[0]) / wall_s,
        "latency_ms_p50": statistics.median(latencies_ms),
        "latency_ms_p99": latencies_ms[int(len(latencies_ms) * 0.99) - 1],
    }
    emit(
        f"token endpoint (client_credentials, private_key_jwt ES256, DPoP): {result['tokens_per_s']:.0f} tokens/s "
        f"over {result['requests']} requests, {concurrency} concurrent, 1 gateway process; "
        f"p50 {result['latency_ms_p50']:.1f} ms, p99 {result['latency_ms_p99']:.1f} ms; failures {result['failures']}"
    )
    return result
