"""Classroom provisioning benchmark: how long a trainer waits for N teams (a tenant + a sandbox-basic app each).

    .venv/bin/python -m loadtests.classroom --teams 30 --backend sqlite
    .venv/bin/python -m loadtests.classroom --teams 30 --backend postgresql   # OPENBANK_TEST_DATABASE_URL or local

The same PortalService.create_classroom the portal's form calls, on fresh storage. The day's world template is
built first (a one-off a running sandbox has already paid) and its time printed apart.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from gateway.oauth.clients import ClientRegistry
from gateway.portal.service import PortalService, classroom_threads
from openbank_cli.stack import LocalStack
from openbank_kit import pg_admin
from openbank_kit.settings import load_settings

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def measure(settings, teams: int, threads: int | None) -> dict[str, float]:
    stack = LocalStack(settings)
    try:
        stack.migrate()
        tenants = stack.tenant_service()
        gateway_db = stack.databases["gateway"]
        registry = ClientRegistry(gateway_db, settings.issuer)
        portal = PortalService(
            gateway_db, tenants, registry, True, threads or classroom_threads(settings.database_url)
        )
        started = time.perf_counter()
        tenants.create("warm-template")  # builds the day's world template in every service
        template_s = time.perf_counter() - started
        started = time.perf_counter()
        result = portal.create_classroom(
            "dev-bench", "Benchmark", [f"Team {n:02d}" for n in range(1, teams + 1)]
        )
        classroom_s = time.perf_counter() - started
        assert len(result.teams) == teams
        return {"template_s": template_s, "classroom_s": classroom_s, "threads": portal.classroom_threads}
    finally:
        stack.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument(
        "--threads", type=int, default=None, help="default: what the portal uses for the backend"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openbank-classroom-") as var_dir:
        overrides: dict = {"var_dir": var_dir, "database_url": None}
        admin_url = os.environ.get("OPENBANK_TEST_DATABASE_URL") or DEFAULT_ADMIN_URL
        name = None
        if args.backend == "postgresql":
            name = pg_admin.fresh_database_name("openbank_classroom")
            overrides["database_url"] = pg_admin.create_database(admin_url, name)
        try:
            timings = measure(load_settings(**overrides), args.teams, args.threads)
        finally:
            if name:
                pg_admin.drop_database(admin_url, name)
    print(f"{args.backend}: world template {timings['template_s']:.2f} s (once a day); "
          f"classroom of {args.teams} teams with {timings['threads']} threads: {timings['classroom_s']:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
