"""The `openbank` command: up | seed | reset | tenants | migrate | bench | ledger verify."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from openbank_kit.db import DatabaseUnavailable
from openbank_kit.errors import OBIEError
from openbank_kit.settings import KitSettings, SettingsError, load_settings

app = typer.Typer(
    help="OpenBank Sandbox: an open-banking sandbox for a city commercial bank.", no_args_is_help=True
)
bench_app = typer.Typer(help="Benchmarks (figures printed, nothing asserted).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
ledger_app = typer.Typer(help="The ledger of record (accounts).", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
decision_app = typer.Typer(help="Credit decisions of the Lending API.", no_args_is_help=True)
app.add_typer(decision_app, name="decision")
console = Console(stderr=True)
DEMO_TENANT = "demo"
# The demo tenant's developer-portal login: fixed and published (README), so it opens sandbox data only.
DEMO_PORTAL_EMAIL = "demo@sandbox.test"
DEMO_PORTAL_PASSWORD = "sandbox-demo"


class UsageError(Exception):
    """A mistake by the person at the keyboard: one line, exit 2."""


def expected_errors(command: Callable) -> Callable:
    """Expected mistakes print one line and exit non-zero; only real bugs show a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (SettingsError, UsageError) as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except DatabaseUnavailable as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except OBIEError as exc:
            console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def _world_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _prepare(settings: KitSettings):
    """Open, check and migrate every database; generate today's world with a progress bar if needed."""
    from openbank_cli.stack import LocalStack
    from openbank_kit.tenancy import generate_world_for

    stack = LocalStack(settings)
    stack.check_reachable()
    stack.migrate()
    tenants = stack.tenant_service()
    spec = tenants.world_spec()
    with _world_progress() as progress:
        task = progress.add_task(f"synthetic world (seed {spec.seed}, as of {spec.as_of})", total=None)
        generate_world_for(
            spec, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    return stack, tenants


@app.command()
@expected_errors
def migrate() -> None:
    """Apply every service's database migrations."""
    from openbank_cli.stack import LocalStack

    stack = LocalStack(load_settings())
    stack.check_reachable()
    stack.migrate()
    console.print("migrations applied: " + ", ".join(db.describe() for db in stack.databases.values()))


@app.command()
@expected_errors
def seed(tenant: Annotated[str, typer.Option("--tenant", help="tenant name, e.g. team-a")]) -> None:
    """Create a tenant and load its world into every service."""
    settings = load_settings()
    stack, tenants = _prepare(settings)
    created = tenants.create(tenant)
    console.print(f"tenant [bold]{created.tenant_id}[/bold] created")
    print(f"InitialAccessToken: {created.initial_access_token}")


@app.command()
@expected_errors
def reset(tenant: Annotated[str, typer.Option("--tenant", help="tenant name")]) -> None:
    """Restore a tenant's persona world (apps and initial access token kept)."""
    settings = load_settings()
    stack, tenants = _prepare(settings)
    tenants.get_active(tenant)
    tenants.reset(tenant)
    console.print(f"tenant [bold]{tenant}[/bold] reset")


@app.command("tenants")
@expected_errors
def list_tenants() -> None:
    """List tenants."""
    from openbank_cli.stack import LocalStack

    stack = LocalStack(load_settings())
    stack.check_reachable()
    stack.migrate()
    for tenant in stack.tenant_service().list_tenants():
        print(
            f"{tenant.tenant_id}\tcreated {tenant.created_at:%Y-%m-%d %H:%M}Z\tworld as of {tenant.world_as_of}"
        )


@app.command()
@expected_errors
def up(
    demo: Annotated[bool, typer.Option(help="provision the demo tenant")] = True,
    with_demo: Annotated[
        bool, typer.Option("--with-demo", help="also start the partner demo shop (examples/partner_shop)")
    ] = False,
) -> None:
    """Start the gateway and the services; Ctrl-C stops them all."""
    from openbank_cli import supervisor
    from openbank_kit.internal_auth import internal_token_for

    if with_demo and not demo:
        raise UsageError("--with-demo registers the shop in the demo tenant: drop --no-demo")
    settings = load_settings()
    try:
        supervisor.check_ports_free(settings)
        if with_demo:
            supervisor.check_demo_shop_port_free(settings)
    except supervisor.StartupError as exc:
        raise UsageError(str(exc)) from None
    Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
    stack, tenants = _prepare(settings)
    demo_tenant = (
        provision_demo(Path(settings.var_dir), tenants, stack.databases["gateway"]) if demo else None
    )
    stack.dispose()
    children_env = supervisor.child_environment(settings, internal_token_for(settings))
    children = supervisor.start_children(settings, children_env)
    try:
        supervisor.wait_until_ready(settings, children)
        if with_demo:  # after the bank is ready: the shop registers itself at start
            assert demo_tenant is not None  # --with-demo without --no-demo, checked above
            children.append(supervisor.start_demo_shop(settings, children_env, demo_tenant.token))
            supervisor.wait_until_shop_ready(children[-1])
    except supervisor.StartupError as exc:
        supervisor.stop_children(children)
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    _print_banner(settings, demo_tenant, supervisor.demo_shop_port() if with_demo else None)
    raise typer.Exit(supervisor.supervise(children))


@dataclass(frozen=True)
class DemoTenant:
    token: str
    portal_email: str | None  # who signs in to the portal as the demo tenant; None: no account could be made


def provision_demo(var_dir: Path, tenants, gateway_db) -> DemoTenant:
    """The demo tenant, its initial access token and its portal login, made on the first `openbank up` and found
    again on every later one (no second tenant, no second account)."""
    from gateway.portal.service import ensure_developer_account

    token = _demo_token(var_dir, tenants)
    account = ensure_developer_account(
        gateway_db, tenant_id=DEMO_TENANT, email=DEMO_PORTAL_EMAIL, password=DEMO_PORTAL_PASSWORD,
        initial_access_token=token,
    )  # fmt: skip
    return DemoTenant(token, account.email if account is not None else None)


def _demo_token(var_dir: Path, tenants) -> str:
    """The demo tenant's initial access token: created once, then read back from var/ on every start."""
    from openbank_kit.errors import NotFound

    path = var_dir / f"{DEMO_TENANT}-initial-access-token"
    try:
        tenants.get_active(DEMO_TENANT)
    except NotFound:
        with console.status("provisioning tenant demo…"):
            token = tenants.create(DEMO_TENANT).initial_access_token
        path.write_text(token + "\n")
        return token
    token = path.read_text().strip() if path.exists() else ""
    try:
        if tenants.authenticate(token).tenant_id == DEMO_TENANT:
            return token
    except OBIEError:
        pass
    token = tenants.replace_initial_access_token(DEMO_TENANT)  # the file was lost: issue a new one
    path.write_text(token + "\n")
    return token


def _print_banner(settings: KitSettings, demo: DemoTenant | None, shop_port: int | None = None) -> None:
    gateway = settings.url_of("gateway")
    lines = [
        "",
        "OpenBank Sandbox is up",
        f"  gateway (public)  {gateway}",
        *(f"  {name:<17} {settings.url_of(name)}" for name in ("accounts", "payments", "loans")),
        *(
            [
                f"  demo shop         http://127.0.0.1:{shop_port}  (美家家电商城, a partner app on the public API)"
            ]
            if shop_port
            else []
        ),
        f"  logs              {Path(settings.var_dir).resolve() / 'log'}",
        "",
        "Tenant demo",
        "  persona login     zhang.wei / sandbox / one-time code 123456 (all personas: GET /sandbox/v1/personas)",
    ]
    if demo is not None:
        if demo.portal_email == DEMO_PORTAL_EMAIL:
            lines.append(
                f"  portal login      {DEMO_PORTAL_EMAIL} / {DEMO_PORTAL_PASSWORD} at {gateway}/portal/sign-in"
                "  (sandbox only: a published password)"
            )
        elif demo.portal_email:  # someone signed up as team "demo" before `openbank up` provisioned it
            lines.append(f"  portal login      {demo.portal_email} (the account that owns tenant demo)")
        else:
            lines.append(f"  portal login      none: {DEMO_PORTAL_EMAIL} already belongs to another tenant")
        lines.append(
            f"  initial access token  {demo.token}  (also in {Path(settings.var_dir) / 'demo-initial-access-token'})"
        )
    lines += [
        "",
        "Try:",
        f"  curl -s {gateway}/.well-known/openid-configuration",
        "",
        "Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


@app.command()
@expected_errors
def serve(process: Annotated[str, typer.Argument(help="gateway, accounts, payments or loans")]) -> None:
    """Run one process in the foreground (containers; `openbank up` runs all four)."""
    import uvicorn

    from openbank_cli.supervisor import APPS

    settings = load_settings()
    if process not in APPS:
        raise UsageError(f"unknown process {process!r}: choose one of {', '.join(APPS)}")
    uvicorn.run(
        APPS[process], factory=True, host=settings.host, port=settings.port_of(process), access_log=False
    )


@bench_app.command("provisioning")
@expected_errors
def bench_provisioning(
    backend: Annotated[str, typer.Option(help="sqlite, postgresql or all")] = "all",
    tenants: Annotated[int, typer.Option(min=1, max=100, help="tenants to provision per backend")] = 5,
) -> None:
    """Time creating one tenant with the default world, on SQLite and PostgreSQL."""
    from loadtests.provisioning import run_provisioning_benchmark

    if backend not in {"sqlite", "postgresql", "all"}:
        raise UsageError("--backend must be sqlite, postgresql or all")
    backends = ["sqlite", "postgresql"] if backend == "all" else [backend]
    run_provisioning_benchmark(backends, tenants, print)


@bench_app.command("tokens")
@expected_errors
def bench_tokens(
    requests: Annotated[int, typer.Option(min=10, max=100000, help="token requests to send")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 8,
    workers: Annotated[
        int, typer.Option(min=1, max=8, help="gateway processes (more than 1 needs --redis-url)")
    ] = 1,
    redis_url: Annotated[str | None, typer.Option(help="Redis for the shared replay cache")] = None,
    peer: Annotated[
        bool, typer.Option(help="also measure node-oidc-provider the same way (needs node + npm)")
    ] = False,
) -> None:
    """Token endpoint rate for client_credentials with private_key_jwt + DPoP (and node-oidc-provider beside it)."""
    from loadtests.token_rate import run_token_benchmark

    if workers > 1 and not redis_url:
        raise typer.BadParameter(
            "several gateway workers need --redis-url (their replay cache is shared there)"
        )
    run_token_benchmark(requests, concurrency, print, workers=workers, redis_url=redis_url, peer=peer)


@bench_app.command("gateway")
@expected_errors
def bench_gateway(calls: Annotated[int, typer.Option(min=10, max=100000)] = 2000) -> None:
    """Latency the front door adds (p50/p99) against calling the service directly."""
    from loadtests.gateway_latency import run_gateway_latency_benchmark

    run_gateway_latency_benchmark(calls, print)


@ledger_app.command("verify")
@expected_errors
def ledger_verify(
    tenant: Annotated[str | None, typer.Option("--tenant", help="one tenant (default: every tenant)")] = None,
) -> None:
    """Check every ledger invariant; exit 1 on any breach."""
    from openbank_kit.db import Database
    from services.accounts.ledger_verify import verify_ledger

    db = Database("accounts", load_settings())
    db.check_reachable()
    try:
        reports = verify_ledger(db, tenant)
    finally:
        db.dispose()
    if tenant is not None and reports[0].accounts == 0:
        raise UsageError(f"no ledger for tenant {tenant!r}")
    breaches = 0
    for report in reports:
        breaches += report.breach_count
        state = "OK" if report.breach_count == 0 else f"{report.breach_count} BREACH(ES)"
        print(f"{report.tenant_id}\t{report.transactions} transactions\t{report.accounts} accounts\t{state}")
        for line in report.breaches:
            print(f"  {line}")
    if breaches:
        console.print(f"[red]ledger verify: {breaches} breach(es)[/red]", highlight=False)
        raise typer.Exit(1)
    console.print(f"ledger verify: {len(reports)} tenant(s), every invariant holds", highlight=False)


@decision_app.command("replay")
@expected_errors
def decision_replay(
    decision_id: Annotated[str, typer.Argument(help="a DecisionId, e.g. dec_01...")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="tenant (when an id exists in several)")
    ] = None,
) -> None:
    """Re-run a stored credit decision from its stored inputs; exit 0 only if it reproduces the output exactly."""
    import json

    from services.loans.replay import replay_stored_decision

    report = replay_stored_decision(load_settings(), decision_id, tenant)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["Reproduced"]:
        console.print("[red]the replayed decision differs from the stored one[/red]")
        raise typer.Exit(1)


# Measured on 2 cores: one worker per service process beats two (lending 84 against 72 decisions/s, payments 54.9
# against 48.0/s, with less CPU per call); more workers only pay once there are cores for them.
BENCH_WORKERS = max(1, (os.cpu_count() or 2) // 2)
BENCH_WORKERS_HELP = "uvicorn workers per service process (default: one per two cores)"


@bench_app.command("lending")
@expected_errors
def bench_lending(
    rate: Annotated[int, typer.Option(min=1, max=2000, help="decisions per second to offer")] = 300,
    duration_s: Annotated[int, typer.Option("--duration", min=5, max=600, help="measured seconds")] = 60,
    users: Annotated[int, typer.Option(min=1, max=2000, help="concurrent Locust users")] = 64,
    workers: Annotated[int, typer.Option(min=1, max=16, help=BENCH_WORKERS_HELP)] = BENCH_WORKERS,
    out: Annotated[Path, typer.Option(help="where Locust's CSV and HTML reports go")] = Path(
        "var/bench-lending"
    ),
) -> None:
    """Decision latency (p50/p95/p99) and throughput through the gateway on PostgreSQL; Locust, headless."""
    from loadtests.lending_bench import run_lending_benchmark

    code = run_lending_benchmark(
        rate=rate, duration_s=duration_s, users=users, workers=workers, out=out, emit=print
    )
    raise typer.Exit(code)


@bench_app.command("payments")
@expected_errors
def bench_payments(
    rate: Annotated[int, typer.Option(min=1, max=2000, help="payments per second to offer")] = 200,
    duration_s: Annotated[int, typer.Option("--duration", min=5, max=600, help="measured seconds")] = 30,
    # 64, as for lending: a user waits for each answer, so 32 at 210/s could not keep the rate past 150 ms a payment.
    users: Annotated[int, typer.Option(min=1, max=2000, help="concurrent Locust users")] = 64,
    workers: Annotated[int, typer.Option(min=1, max=16, help=BENCH_WORKERS_HELP)] = BENCH_WORKERS,
    out: Annotated[Path, typer.Option(help="where Locust's CSV and HTML reports go")] = Path(
        "var/bench-payments"
    ),
) -> None:
    """Same-bank payments per second and p50/p99 through the gateway on PostgreSQL, beside pgbench; Locust."""
    from loadtests.payments_bench import run_payments_benchmark

    code = run_payments_benchmark(
        rate=rate, duration_s=duration_s, users=users, workers=workers, out=out, emit=print
    )
    raise typer.Exit(code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
