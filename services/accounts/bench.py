"""Accounts benchmark: AISP transaction page latency through the gateway (DPoP), internal transfer throughput, and
pgbench's TPC-B-like rate on the same PostgreSQL server in the same run. Figures are printed, never asserted.

    python -m services.accounts.bench --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Runs the gateway and accounts as real processes (uvicorn, one worker each) on a fresh database created on that
server and dropped at the end. The customer token is minted with the gateway's own signing key, bound to the
partner's DPoP key (`cnf.jkt`): the authorization-code journey is the gateway's and not what is measured here.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from loadtests.partner import Partner
from loadtests.processes import free_port, wait_ready
from openbank_cli.stack import LocalStack
from openbank_kit import pg_admin
from openbank_kit.settings import load_settings

TRANSFER_ACCOUNTS = [f"ACC{n:07d}" for n in range(1, 19)] + ["INT-CLEARING-CNAPS", "INT-SETTLEMENT-ECOM"]


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def _customer_token(settings, tenant_id: str, client_id: str, consent_id: str, partner: Partner) -> str:
    from gateway.oauth.keys import KeyStore
    from gateway.oauth.rfc9449_dpop import jwk_thumbprint
    from gateway.oauth.tokens import AccessTokenClaims, AccessTokenIssuer
    from openbank_kit.db import Database

    db = Database("gateway", settings)
    try:
        issuer = AccessTokenIssuer(settings.issuer, KeyStore(db))
        claims = AccessTokenClaims(tenant_id=tenant_id, client_id=client_id, subject="CUS000001", scope="accounts",
                                   jkt=jwk_thumbprint(partner.dpop_key.as_dict(private=False)), intent_id=consent_id)  # fmt: skip
        return issuer.issue(claims)[0]
    finally:
        db.dispose()


def run(admin_url: str, calls: int, threads: int, seconds: int) -> dict:
    name = pg_admin.fresh_database_name("openbank_bench")
    database_url = pg_admin.create_database(admin_url, name)
    gateway_port, accounts_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{gateway_port}"
    var_dir = tempfile.mkdtemp(prefix="openbank-accounts-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
    env.update({"OPENBANK_VAR_DIR": var_dir, "OPENBANK_DATABASE_URL": database_url, "OPENBANK_ISSUER": issuer, "OPENBANK_LOG_LEVEL": "WARNING",
                "OPENBANK_GATEWAY_PORT": str(gateway_port), "OPENBANK_ACCOUNTS_PORT": str(accounts_port),
                "OPENBANK_INTERNAL_TOKEN": "bench-internal-token"})  # fmt: skip
    settings = load_settings(var_dir=var_dir, database_url=database_url, issuer=issuer, internal_token="bench-internal-token",
                             gateway_port=gateway_port, accounts_port=accounts_port)  # fmt: skip
    processes = []
    try:
        stack = LocalStack(settings)
        stack.migrate()
        initial_token = stack.tenant_service().create("bench").initial_access_token
        stack.dispose()
        for app, port in (
            ("gateway.app:create_app", gateway_port),
            ("services.accounts.app:create_app", accounts_port),
        ):
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--no-access-log",
                 "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        for port in (gateway_port, accounts_port):
            wait_ready(f"http://127.0.0.1:{port}")
        result = _measure(
            settings, initial_token, f"http://127.0.0.1:{accounts_port}", calls, threads, seconds
        )
        result["pgbench_tps"] = pg_admin.pgbench_tps(admin_url, threads, seconds)
        return result
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        pg_admin.drop_database(admin_url, name)
        shutil.rmtree(var_dir, ignore_errors=True)


def _measure(settings, initial_token: str, accounts: str, calls: int, threads: int, seconds: int) -> dict:
    issuer = settings.issuer
    partner = Partner()
    registration = httpx.post(f"{issuer}/oauth2/register", json=partner.fapi2_metadata(),
                              headers={"Authorization": f"Bearer {initial_token}"}).json()  # fmt: skip
    partner.client_id = registration["client_id"]
    token_url = f"{issuer}/oauth2/token"
    client_token = httpx.post(token_url, data=partner.client_credentials_form(scope="accounts", aud=issuer),
                              headers={"DPoP": partner.dpop("POST", token_url)}).json()["access_token"]  # fmt: skip
    consents_url = f"{issuer}/open-banking/v4.0/aisp/account-access-consents"
    body = {"Data": {"Permissions": ["ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"]},
            "Risk": {}}  # fmt: skip
    consent = httpx.post(consents_url, json=body, headers={"Authorization": f"DPoP {client_token}",
                         "DPoP": partner.dpop("POST", consents_url, access_token=client_token)})  # fmt: skip
    consent_id = consent.json()["Data"]["ConsentId"]
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    decided = httpx.post(f"{accounts}/internal/v1/tenants/bench/consents/{consent_id}/authorisation", headers=internal,
                         json={"ClientId": partner.client_id, "CustomerId": "CUS000001", "Decision": "approve"})  # fmt: skip
    assert decided.status_code == 200, decided.text
    token = _customer_token(settings, "bench", partner.client_id, consent_id, partner)
    url = f"{issuer}/open-banking/v4.0/aisp/accounts/ACC0000001/transactions"
    proofs = [partner.dpop("GET", url, access_token=token) for _ in range(calls)]
    samples_ms = []
    with httpx.Client(timeout=10) as client:
        for proof in proofs:
            started = time.perf_counter()
            response = client.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
            samples_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and len(response.json()["Data"]["Transaction"]) == 100, (
                response.text
            )
    p50_ms, p99_ms = _percentiles(samples_ms)
    posted = refused = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def transfer_worker(n: int) -> None:
        nonlocal posted, refused
        rng = random.Random(n)
        with httpx.Client(timeout=30, headers=internal) as client:
            attempt = 0
            while time.monotonic() < deadline:
                attempt += 1
                debit, credit = rng.sample(TRANSFER_ACCOUNTS, 2)
                leg = {"Amount": {"Amount": f"{rng.randint(1, 5000) / 100:.2f}", "Currency": "CNY"}}
                body = {"Category": "TRANSFER", "Description": "bench", "Postings": [
                    {"AccountId": debit, "CreditDebitIndicator": "Debit", **leg},
                    {"AccountId": credit, "CreditDebitIndicator": "Credit", **leg}]}  # fmt: skip
                response = client.post(f"{accounts}/internal/v1/tenants/bench/ledger/transactions", json=body,
                                       headers={"x-idempotency-key": f"b{n}-{attempt}"})  # fmt: skip
                with lock:
                    if response.status_code == 201:
                        posted += 1
                    else:
                        refused += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(transfer_worker, range(threads)))
    elapsed_s = time.monotonic() - started
    return {"transactions_page_p50_ms": p50_ms, "transactions_page_p99_ms": p99_ms, "calls": calls,
            "transfers_per_s": posted / elapsed_s, "transfers_refused": refused, "threads": threads}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("OPENBANK_TEST_DATABASE_URL"), required=False
    )
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL server URL (the admin database, e.g. .../postgres)")
    result = run(args.database_url, args.calls, args.threads, args.seconds)
    print(
        f"GET /accounts/{{id}}/transactions (page of 100) through the gateway with DPoP, {result['calls']} calls: "
        f"p50 {result['transactions_page_p50_ms']:.1f} ms, p99 {result['transactions_page_p99_ms']:.1f} ms"
    )
    print(
        f"internal ledger transfers on PostgreSQL, {result['threads']} threads: {result['transfers_per_s']:.0f}/s "
        f"posted ({result['transfers_refused']} refused: funds or class limits)"
    )
    print(
        f"pgbench TPC-B-like on the same server, {result['threads']} clients: {result['pgbench_tps']:.0f} tps"
    )


if __name__ == "__main__":
    main()
