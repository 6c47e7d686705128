"""`openbank bench lending`: the decision call through the gateway on PostgreSQL, driven by Locust, headless.

1. A fresh PostgreSQL database (OPENBANK_BENCH_DATABASE_URL, default the local server's `postgres` admin URL);
   Redis for the gateway's shared state when OPENBANK_BENCH_REDIS_URL is set.
2. Tenant `bench` with the default world; gateway, accounts and loans as uvicorn processes.
3. Work list: partner apps (sandbox-basic, client credentials), one consent per decision created through the
   public API is too slow to prepare 20,000 of, so consents are created AUTH in the loans database for every
   generated customer with an eligible account, each with a customer token signed by the gateway's own key
   (what the authorization-code grant would issue; the headless consent journey is the gateway's to measure).
4. Each customer's first application this month, one at a time (loans asks accounts for the ledger profile and keeps
   it for the month): its latency and CPU per decision are printed. Then a warm-up (three seconds' worth at the
   target rate from 32 threads, not measured: the services' connection pools open on demand).
5. Scenario (a), the whole partner journey, for 20 s in a Locust run of its own; then VACUUM ANALYZE and CHECKPOINT.
6. Scenario (b): Locust at a fixed arrival rate for the duration, with the no-op GET beside it; CSV and HTML reports
   under --out; one summary line. Any error (or failed journey step), or p99 > 50 ms, or a rate below 95% of the
   target → exit 3.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from loadtests.processes import BenchStack, run_locust_headless
from openbank_cli.stack import LocalStack
from openbank_kit.clock import tenant_now

SLO_P99_MS = 50.0
WARMUP_DECISIONS = 200
WARMUP_S = 3  # seconds' worth of decisions at the target rate, from WARMUP_THREADS at once
WARMUP_THREADS = 32
PARTNER_APPS = (
    4  # the load comes from several partners, as it would (and stays under the per-client rate limit)
)
# Per worker process (overflow doubles it): 3 services × 2 workers × 8 stays well under PostgreSQL's 100 connections,
# which the server shares with whatever else runs on it.
DB_POOL_SIZE = 4
AMOUNTS = ("5000.00", "20000.00", "50000.00", "80000.00")


def run_lending_benchmark(
    *, rate: int, duration_s: int, users: int, workers: int, out: Path, emit: Callable[[str], None]
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    emit("provisioning tenant bench (default world), starting accounts, loans and the gateway…")
    with BenchStack(("accounts", "loans", "gateway"), workers=workers, pool_size=DB_POOL_SIZE) as bench:
        warm_up = max(WARMUP_DECISIONS, WARMUP_S * rate)
        needed = rate * duration_s + warm_up + rate  # a second of slack
        work = _prepare(bench.stack, bench.settings, bench.issuer, bench.initial_token, needed, emit)
        bench.settle()  # the prepared consents vacuumed now, not by autovacuum under the first applications
        first = work.pop("FirstApplications")
        _first_applications(bench, work["Decisions"][:first], emit)
        _warm_up(bench.issuer, work["Decisions"][first:warm_up])
        work["Decisions"] = work["Decisions"][warm_up:]
        work_path = out / "work.json"
        work_path.write_text(json.dumps(work))
        # The journeys before the decision load: after it, each customer has had far more than the velocity rule's
        # 30 applications in the hour, and every journey would end DECLINED, never reaching the offer's acceptance.
        journeys = _run_journeys(bench, work_path, out, emit)
        # After the warm-up and the journeys, not before: ANALYZE then sees loan_application with rows, and the plans
        # the services cached while it was empty (a sequential scan for the velocity count, 4 ms at 2,500 rows) go.
        bench.settle()
        code, _decisions = _run_locust(bench, work_path, rate, duration_s, users, out, emit, journeys)
        return code


def _client_token(issuer: str, initial_token: str) -> tuple[str, str]:
    app = httpx.post(
        f"{issuer}/sandbox/v1/apps",
        json={"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]},
        headers={"Authorization": f"Bearer {initial_token}"},
    ).json()
    form = {"grant_type": "client_credentials", "scope": "lending", "client_id": app["client_id"],
            "client_secret": app["client_secret"]}  # fmt: skip
    token = httpx.post(f"{issuer}/oauth2/token", data=form).json()["access_token"]
    return app["client_id"], token


def _prepare(stack: LocalStack, settings, issuer: str, initial_token: str, needed: int, emit) -> dict:
    from gateway.oauth.keys import KeyStore
    from gateway.oauth.tokens import AccessTokenClaims, AccessTokenIssuer
    from openbank_kit.ids import new_id
    from services.accounts.models import Account
    from services.loans.domain.products import PRODUCTS_BY_ID
    from services.loans.models import LendingConsent

    apps = [_client_token(issuer, initial_token) for _ in range(PARTNER_APPS + 1)]
    noop_client, noop_token = apps.pop()
    with stack.databases["accounts"].read_session() as session:
        rows = session.execute(
            select(Account.customer_id, Account.account_id)
            .where(
                Account.tenant_id == "bench",
                Account.account_class.in_(["I", "II"]),
                Account.status == "Enabled",
            )
            .order_by(Account.customer_id, Account.account_id)
        ).all()
    first_account: dict[str, str] = {}
    for customer_id, account_id in rows:
        first_account.setdefault(customer_id, account_id)
    customers = sorted(first_account)
    emit(
        f"preparing {needed} authorised consents over {len(customers)} customers and {PARTNER_APPS} partner apps…"
    )
    issuer_keys = AccessTokenIssuer(issuer, KeyStore(stack.databases["gateway"]))
    product = PRODUCTS_BY_ID["quick-loan"]
    decisions, consents = [], []
    with stack.databases["loans"].write_session() as session:
        now = tenant_now(session, "bench")
        for n in range(needed):
            customer_id = customers[n % len(customers)]
            client_id, _ = apps[n % len(apps)]
            consent_id = new_id("lac")
            amount = AMOUNTS[n % len(AMOUNTS)]
            details = {"ProductId": product.product_id, "Amount": {"Amount": amount, "Currency": "CNY"},
                       "TermMonths": 12, "RepaymentMethod": "EQUAL_INSTALMENT", "Purpose": "benchmark"}  # fmt: skip
            consents.append(
                LendingConsent(
                    tenant_id="bench",
                    consent_id=consent_id,
                    client_id=client_id,
                    status="AUTH",
                    product_id=product.product_id,
                    amount_fen=int(amount.replace(".", "")),
                    term_months=12,
                    repayment_method="EQUAL_INSTALMENT",
                    purpose="benchmark",
                    details=details,
                    customer_id=customer_id,
                    account_id=first_account[customer_id],
                    created_at=now,
                    status_updated_at=now,
                    expires_at=now + timedelta(days=1),
                )  # fmt: skip
            )
            token, _ = issuer_keys.issue(
                AccessTokenClaims(
                    tenant_id="bench",
                    client_id=client_id,
                    subject=customer_id,
                    scope="lending",
                    intent_id=consent_id,
                )  # fmt: skip
            )
            decisions.append({"ConsentId": consent_id, "Token": token, "Key": f"bench-{n}"})
        session.add_all(consents)
        session.commit()
    return {"Decisions": decisions, "NoOp": {"Token": noop_token, "ClientId": noop_client},
            "FirstApplications": len(customers),
            "Journey": _journey_app(stack, issuer, initial_token, set(first_account))}  # fmt: skip


def _journey_app(stack: LocalStack, issuer: str, initial_token: str, eligible: set[str]) -> dict:
    """Scenario (a)'s partner: a sandbox-basic app with the code grant, and who can log in to approve."""
    from gateway.models import SandboxUser

    redirect_uri = "https://shop.example/bank/callback"
    app = httpx.post(
        f"{issuer}/sandbox/v1/apps",
        json={"client_name": "journey bench", "token_endpoint_auth_method": "client_secret_basic",
              "redirect_uris": [redirect_uri], "openbank_rate_limit_per_second": 1000},
        headers={"Authorization": f"Bearer {initial_token}"},
    ).json()  # fmt: skip
    with stack.databases["gateway"].read_session() as session:
        users = session.scalars(select(SandboxUser).where(SandboxUser.tenant_id == "bench")).all()
    usernames = sorted(user.username for user in users if user.customer_id in eligible)
    return {"App": {"ClientId": app["client_id"], "ClientSecret": app["client_secret"], "RedirectUri": redirect_uri},
            "InitialToken": initial_token, "Usernames": usernames}  # fmt: skip


def _decide(client: httpx.Client, item: dict) -> float:
    started = time.perf_counter()
    response = client.post(
        "/lending/v1/applications",
        json={"Data": {"ConsentId": item["ConsentId"]}, "Risk": {}},
        headers={"Authorization": f"Bearer {item['Token']}", "x-idempotency-key": item["Key"]},
    )
    if response.status_code != 201:
        raise RuntimeError(
            f"decision before the measured run failed: {response.status_code} {response.text[:300]}"
        )
    return (time.perf_counter() - started) * 1000


def _first_applications(bench: BenchStack, items: list[dict], emit) -> None:
    """Each customer's first application this month, one at a time: loans asks accounts for the ledger profile
    and keeps it for the month (the ledger snapshot); the measured load after it reads the snapshot. Reported so that
    the path a customer's first application takes is measured too."""
    before = bench.cpu()
    with httpx.Client(base_url=bench.issuer, timeout=10) as client:
        latencies = sorted(_decide(client, item) for item in items)
    spent = {name: (seconds - before[name]) * 1000 / len(items) for name, seconds in bench.cpu().items()}
    emit(
        f"first application of each of {len(items)} customers this month (asks the ledger), one at a time: "
        f"p50 {latencies[len(latencies) // 2]:.1f} ms, p99 {latencies[int(len(latencies) * 0.99)]:.1f} ms; CPU per "
        "decision: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in spent.items() if name != "locust")
    )


def _warm_up(issuer: str, items: list[dict]) -> None:
    """Decisions from WARMUP_THREADS at once, not measured: the services open the connections the load needs (the
    database pools open on demand), so the measured run does not start with their opening."""

    def work(chunk: list[dict]) -> None:
        with httpx.Client(base_url=issuer, timeout=10) as client:
            for item in chunk:
                _decide(client, item)

    with ThreadPoolExecutor(max_workers=WARMUP_THREADS) as pool:
        list(pool.map(work, [items[n::WARMUP_THREADS] for n in range(WARMUP_THREADS)]))


JOURNEY_USERS = 2  # scenario (a): one journey per second each, in its own run before the decision load
JOURNEY_DURATION_S = 20


def _locust_env(work_path: Path, users: int = 1, rate: int = 1) -> dict[str, str]:
    return {"LENDING_BENCH_WORK": str(work_path), "LENDING_BENCH_DECISION_USERS": str(users),
            "LENDING_BENCH_PER_USER_RATE": str(rate / users), "LENDING_BENCH_NOOP_USERS": "2",
            "LENDING_BENCH_JOURNEY_USERS": str(JOURNEY_USERS)}  # fmt: skip


def _run_journeys(bench: BenchStack, work_path: Path, out: Path, emit) -> dict:
    """Scenario (a), the whole partner journey, in a Locust run of its own: its password checks and disbursements
    do not load the decision's figures."""
    emit(f"locust: {JOURNEY_USERS} partner journeys at a time for {JOURNEY_DURATION_S} s")
    locustfile = Path(__file__).with_name("lending_locust.py")
    return run_locust_headless(
        locustfile, bench.issuer, JOURNEY_USERS, JOURNEY_DURATION_S, out / "journey", _locust_env(work_path),
        ("JourneyUser",),
    )  # fmt: skip


def _run_locust(
    bench: BenchStack,
    work_path: Path,
    rate: int,
    duration_s: int,
    users: int,
    out: Path,
    emit,
    journeys: dict,
) -> tuple[int, int]:
    """Scenario (b), the decision call at the fixed rate beside the no-op GET; the summary of both scenarios."""
    env = _locust_env(work_path, users, rate)
    emit(f"locust: {users} decision users at {rate}/s for {duration_s} s, reports in {out}/")
    locustfile, issuer = Path(__file__).with_name("lending_locust.py"), bench.issuer
    cpu_before = bench.cpu()
    rows = run_locust_headless(
        locustfile, issuer, users + 2, duration_s, out / "lending", env, ("DecisionUser", "NoOpUser")
    )
    decisions = int(rows.get("POST /lending/v1/applications", {}).get("Request Count", 0))
    if decisions:
        spent = {name: seconds - cpu_before[name] for name, seconds in bench.cpu().items()}
        emit("CPU per decision (includes the no-op calls): "
             + ", ".join(f"{name} {seconds * 1000 / decisions:.1f} ms" for name, seconds in spent.items()))  # fmt: skip
    return _summarise(rows | journeys, rate, emit)


def _summarise(rows: dict, rate: int, emit) -> tuple[int, int]:
    decision = rows.get("POST /lending/v1/applications")
    noop = rows.get("GET /sandbox/v1/whoami/loans (no-op)")
    if decision is None:
        emit("no decision was measured")
        return 3, 0
    count, failures = int(decision["Request Count"]), int(decision["Failure Count"])
    achieved = float(decision["Requests/s"])
    p50, p95, p99 = (float(decision[k]) for k in ("50%", "95%", "99%"))
    noop_p50 = float(noop["50%"]) if noop else float("nan")
    emit(
        f"lending decision: {achieved:.1f}/s achieved (target {rate}/s), {count} decisions, {failures} errors, "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; no-op GET p50 {noop_p50:.0f} ms "
        f"(decision p50 = {p50 / noop_p50 if noop_p50 else float('nan'):.1f}x)"
    )
    journeys = {name: row for name, row in rows.items() if name.startswith("journey: whole")}
    journey_failures = sum(int(row["Failure Count"]) for row in journeys.values())
    step_failures = sum(
        int(row["Failure Count"]) for name, row in rows.items() if name.startswith("journey: ")
    )
    if journeys:
        emit("partner journey (consent → headless authorisation → code → decision → accept): " + "; ".join(
            f"{name.removeprefix('journey: whole ').strip('()') or 'failed'} {row['Request Count']} "
            f"p50 {float(row['50%']):.0f} ms p99 {float(row['99%']):.0f} ms" for name, row in sorted(journeys.items())
        ) + f"; {step_failures} failed steps")  # fmt: skip
    else:
        emit("partner journey: none completed")
    breached = failures > 0 or journey_failures > 0 or step_failures > 0 or not journeys
    breached = breached or p99 > SLO_P99_MS or achieved < 0.95 * rate
    if breached:
        emit(f"SLO not met (0 errors, p99 <= {SLO_P99_MS:.0f} ms, >= 95% of {rate}/s)")
    return (3 if breached else 0), count
