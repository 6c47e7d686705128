"""`openbank bench payments`: same-bank domestic payments through the gateway on PostgreSQL, driven by Locust
headless, beside pgbench's TPC-B-like rate on the same server in the same run.

1. A fresh PostgreSQL database; tenant `bench` with the default world; accounts, payments and the gateway as uvicorn
   processes.
2. Work list: a sandbox-basic partner app; one domestic payment consent per payment, created through the public API
   (client-credentials token) and authorised at the payments service the way the consent page records a customer's
   approval (the consent journey is the gateway's to measure, not this); a customer token per consent signed with the
   gateway's own key. Debtors are spread over every generated customer with a Class Ⅰ/Ⅱ account, each paying the next
   customer, so no account row is a hot spot and no customer nears the daily limits.
3. Warm-up (not measured), then Locust at a fixed arrival rate; CSV and HTML reports under --out; then pgbench.
   One summary line. Errors, a payment not settled, or a rate below 95% of the target → exit 3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import select

from loadtests.processes import BenchStack, run_locust_headless
from openbank_kit import pg_admin
from openbank_kit.http_client import internal_client

WARMUP_PAYMENTS = 200
AMOUNT = "1.00"  # small: thousands of payments per customer stay far below the daily limits
PREPARE_THREADS = 8
PGBENCH_CLIENTS = 8
TARGET_SHARE_OF_PGBENCH = 0.10  # the issue's bar: ≥ 10% of pgbench's tps


def run_payments_benchmark(
    *, rate: int, duration_s: int, users: int, workers: int, out: Path, emit: Callable[[str], None]
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    emit("provisioning tenant bench (default world), starting accounts, payments and the gateway…")
    with BenchStack(("accounts", "payments", "gateway"), workers=workers, pool_size=4) as bench:
        needed = rate * duration_s + WARMUP_PAYMENTS + rate  # a second of slack
        work = _prepare(bench, needed, emit)
        _warm_up(bench.issuer, work[:WARMUP_PAYMENTS])
        bench.settle()  # statistics of tables with rows, and no checkpoint due, before the measured run
        work_path = out / "work.json"
        work_path.write_text(json.dumps(work[WARMUP_PAYMENTS:]))
        cpu_before = bench.cpu()
        rows = _run_locust(bench.issuer, work_path, rate, duration_s, users, out, emit)
        spent = {name: seconds - cpu_before[name] for name, seconds in bench.cpu().items()}
    emit(f"pgbench TPC-B-like, {PGBENCH_CLIENTS} clients, 30 s, on the same server…")
    tps = pg_admin.pgbench_tps(bench.admin_url, PGBENCH_CLIENTS, 30)
    return _summarise(rows, rate, tps, spent, emit)


def _app(issuer: str, initial_token: str) -> tuple[str, str]:
    app = httpx.post(
        f"{issuer}/sandbox/v1/apps",
        json={"client_name": "payments bench", "token_endpoint_auth_method": "client_secret_post",
              "grant_types": ["client_credentials"], "openbank_rate_limit_per_second": 1000},
        headers={"Authorization": f"Bearer {initial_token}"},
    ).json()  # fmt: skip
    form = {"grant_type": "client_credentials", "scope": "payments", "client_id": app["client_id"],
            "client_secret": app["client_secret"]}  # fmt: skip
    return app["client_id"], httpx.post(f"{issuer}/oauth2/token", data=form).json()["access_token"]


def _debtors(bench: BenchStack) -> list[tuple[str, str, str]]:
    """(customer, account id, account number) of every customer's first Class Ⅰ/Ⅱ account."""
    from services.accounts.models import Account

    with bench.stack.databases["accounts"].read_session() as session:
        rows = session.execute(
            select(Account.customer_id, Account.account_id, Account.account_number)
            .where(
                Account.tenant_id == "bench",
                Account.account_class.in_(["I", "II"]),
                Account.status == "Enabled",
            )  # fmt: skip
            .order_by(Account.customer_id, Account.account_id)
        ).all()
    first: dict[str, tuple[str, str, str]] = {}
    for customer_id, account_id, number in rows:
        first.setdefault(customer_id, (customer_id, account_id, number))
    return [first[customer] for customer in sorted(first)]


def _prepare(bench: BenchStack, needed: int, emit, app: tuple[str, str] | None = None) -> list[dict]:
    """`app` (client id, client-credentials token) is the partner's, or a new one is registered."""
    from gateway.oauth.keys import KeyStore
    from gateway.oauth.tokens import AccessTokenClaims, AccessTokenIssuer

    client_id, app_token = app or _app(bench.issuer, bench.initial_token)
    debtors = _debtors(bench)
    emit(f"preparing {needed} authorised payment consents over {len(debtors)} customers…")
    issuer_keys = AccessTokenIssuer(bench.issuer, KeyStore(bench.stack.databases["gateway"]))
    payments = internal_client(bench.settings, "payments", bench.settings.internal_token)
    gateway = httpx.Client(
        base_url=bench.issuer, timeout=30, headers={"Authorization": f"Bearer {app_token}"}
    )

    def one(n: int) -> dict:
        customer_id, account_id, _ = debtors[n % len(debtors)]
        _, _, creditor_number = debtors[(n + 1) % len(debtors)]
        initiation = {"InstructionIdentification": f"BENCH-{n}", "EndToEndIdentification": f"E2E-{n}",
                      "LocalInstrument": "CN.CNAPS.IBPS", "InstructedAmount": {"Amount": AMOUNT, "Currency": "CNY"},
                      "CreditorAccount": {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": creditor_number,
                                          "Name": "bench payee"},
                      "RemittanceInformation": {"Unstructured": ["benchmark"]}}  # fmt: skip
        body = {"Data": {"Initiation": initiation}, "Risk": {"PaymentContextCode": "TransferToThirdParty"}}
        created = gateway.post("/open-banking/v4.0/pisp/domestic-payment-consents", json=body,
                               headers={"x-idempotency-key": f"bench-consent-{n}"})  # fmt: skip
        if created.status_code != 201:
            raise RuntimeError(f"consent refused: {created.status_code} {created.text[:300]}")
        consent_id = created.json()["Data"]["ConsentId"]
        approved = payments.post(
            f"/internal/v1/tenants/bench/consents/{consent_id}/authorisation",
            json={"ClientId": client_id, "CustomerId": customer_id, "Decision": "approve", "AccountIds": [account_id]},
        )  # fmt: skip
        if approved.status_code != 200:
            raise RuntimeError(f"authorisation refused: {approved.status_code} {approved.text[:300]}")
        token, _ = issuer_keys.issue(AccessTokenClaims(tenant_id="bench", client_id=client_id, subject=customer_id,
                                                       scope="payments", intent_id=consent_id))  # fmt: skip
        return {"Token": token, "Key": f"bench-pay-{n}", "Body": {"Data": {"ConsentId": consent_id, **body["Data"]},
                                                                  "Risk": body["Risk"]}}  # fmt: skip

    try:
        with ThreadPoolExecutor(PREPARE_THREADS) as pool:
            return list(pool.map(one, range(needed)))
    finally:
        gateway.close()
        payments.close()


def _warm_up(issuer: str, items: list[dict]) -> None:
    with httpx.Client(base_url=issuer, timeout=10) as client:
        for item in items:
            response = client.post(
                "/open-banking/v4.0/pisp/domestic-payments", json=item["Body"],
                headers={"Authorization": f"Bearer {item['Token']}", "x-idempotency-key": item["Key"]},
            )  # fmt: skip
            if response.status_code != 201:
                raise RuntimeError(f"warm-up payment failed: {response.status_code} {response.text[:300]}")


def _run_locust(
    issuer: str, work_path: Path, rate: int, duration_s: int, users: int, out: Path, emit
) -> dict:
    env = {"PAYMENTS_BENCH_WORK": str(work_path), "PAYMENTS_BENCH_PER_USER_RATE": str(rate / users)}
    emit(f"locust: {users} users at {rate} payments/s for {duration_s} s, reports in {out}/")
    locustfile = Path(__file__).with_name("payments_locust.py")
    return run_locust_headless(locustfile, issuer, users, duration_s, out / "payments", env)


def _summarise(rows: dict, rate: int, pgbench_tps: float, spent: dict[str, float], emit) -> int:
    payment = rows.get("POST /open-banking/v4.0/pisp/domestic-payments")
    if payment is None:
        emit("no payment was measured")
        return 3
    count, failures = int(payment["Request Count"]), int(payment["Failure Count"])
    achieved = float(payment["Requests/s"])
    p50, p95, p99 = (float(payment[k]) for k in ("50%", "95%", "99%"))
    share = achieved / pgbench_tps if pgbench_tps else float("nan")
    emit(
        f"same-bank payments: {achieved:.1f}/s achieved (target {rate}/s), {count} payments, {failures} errors, "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; pgbench {pgbench_tps:.0f} tps on the same server "
        f"→ {share:.1%} of pgbench (bar {TARGET_SHARE_OF_PGBENCH:.0%})"
    )
    if count:
        emit(
            "CPU per payment: " + ", ".join(f"{name} {s * 1000 / count:.1f} ms" for name, s in spent.items())
        )
    breached = failures > 0 or achieved < 0.95 * rate or share < TARGET_SHARE_OF_PGBENCH
    if breached:
        emit(f"target not met (0 errors, >= 95% of {rate}/s, >= {TARGET_SHARE_OF_PGBENCH:.0%} of pgbench)")
    return 3 if breached else 0
