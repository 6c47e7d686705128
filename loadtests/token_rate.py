"""Token endpoint rate: client_credentials with private_key_jwt and DPoP, against a real gateway process,
and (`peer=True`) against node-oidc-provider configured the same way, driven by the same load generator.

The gateway runs alone (uvicorn, one worker, or several with Redis holding the replay cache) on fresh SQLite
storage; client assertions and DPoP proofs are signed before the clock starts, so the figure is the server's,
not the load generator's signing speed. The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from loadtests.partner import Partner
from loadtests.processes import cpu_seconds, free_port, wait_ready  # the same partner-side code the tests use
from openbank_cli.stack import LocalStack
from openbank_kit.settings import load_settings

PEER_DIR = Path(__file__).parent / "peers" / "oidc_provider"


def run_token_benchmark(
    requests_total: int,
    concurrency: int,
    emit: Callable[[str], None],
    *,
    workers: int = 1,
    redis_url: str | None = None,
    peer: bool = False,
) -> dict:
    results = {"openbank": _run_ours(requests_total, concurrency, emit, workers, redis_url)}
    if peer:
        results["node-oidc-provider"] = _run_peer(requests_total, concurrency, emit)
    return results


def _run_ours(requests_total: int, concurrency: int, emit, workers: int, redis_url: str | None) -> dict:
    if workers > 1 and not redis_url:
        raise ValueError("several gateway workers share their replay cache through Redis: pass a Redis URL")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="openbank-token-bench-") as var_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
        env.update({"OPENBANK_VAR_DIR": var_dir, "OPENBANK_ISSUER": issuer, "OPENBANK_GATEWAY_PORT": str(port),
                    "OPENBANK_WORLD_RETAIL_CUSTOMERS": "5", "OPENBANK_WORLD_SMES": "1", "OPENBANK_LOG_LEVEL": "WARNING"})  # fmt: skip
        if redis_url:
            env["OPENBANK_REDIS_URL"] = redis_url
        settings = load_settings(var_dir=var_dir, issuer=issuer, world_retail_customers=5, world_smes=1)
        stack = LocalStack(settings)
        stack.migrate()
        token = stack.tenant_service().create("bench").initial_access_token
        stack.dispose()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--port", str(port),
             "--no-access-log", "--log-level", "warning", "--workers", str(workers)],  # fmt: skip
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
            label = f"openbank gateway, {workers} process{'es' if workers > 1 else ''}"
            return _fire(token_url, prepared, concurrency, emit, label, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _run_peer(requests_total: int, concurrency: int, emit) -> dict | None:
    """node-oidc-provider 9.13.3 (FAPI 2.0 certified), same grant, same assertion and proof algorithms, memory store."""
    if not shutil.which("node") or not shutil.which("npm"):
        emit("node-oidc-provider: skipped (node and npm are not installed)")
        return None
    if not (PEER_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEER_DIR, check=True, timeout=300
        )
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    partner = Partner()
    partner.client_id = "bench"
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": "bench",
        "CLIENT_JWKS": json.dumps(partner.public_jwks()),
    }
    server = subprocess.Popen(["node", "server.mjs"], cwd=PEER_DIR, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        for line in server.stdout:
            if line.startswith("ready"):
                break
        else:
            raise RuntimeError("node-oidc-provider did not start")
        threading.Thread(target=server.stdout.read, daemon=True).start()  # keep its pipe drained
        token_url = f"{issuer}/token"
        prepared = [
            (partner.client_credentials_form(aud=issuer), partner.dpop("POST", token_url))
            for _ in range(requests_total)
        ]
        return _fire(
            token_url, prepared, concurrency, emit, "node-oidc-provider 9.13.3, 1 process", server.pid
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _fire(token_url: str, prepared: list, concurrency: int, emit, label: str, server_pid: int) -> dict:
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
    cpu_before = cpu_seconds(server_pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall_s = time.perf_counter() - started
    server_cpu_ms = (cpu_seconds(server_pid) - cpu_before) / len(prepared) * 1000
    latencies_ms.sort()
    result = {
        "requests": len(prepared),
        "failures": failures[0],
        "tokens_per_s": (len(prepared) - failures[0]) / wall_s,
        "latency_ms_p50": statistics.median(latencies_ms),
        "latency_ms_p99": latencies_ms[int(len(latencies_ms) * 0.99) - 1],
        "server_cpu_ms_per_token": server_cpu_ms,
    }
    emit(
        f"{label} — client_credentials, private_key_jwt ES256, DPoP: {result['tokens_per_s']:.0f} tokens/s "
        f"over {result['requests']} requests, {concurrency} concurrent; "
        f"p50 {result['latency_ms_p50']:.1f} ms, p99 {result['latency_ms_p99']:.1f} ms; failures {result['failures']}; "
        f"server CPU {server_cpu_ms:.2f} ms per token"
    )
    return result
