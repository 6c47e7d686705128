"""Tenant provisioning benchmark: how long one tenant with the default world takes, per storage backend.

Each backend gets fresh storage (a temporary directory, or a new PostgreSQL database that is dropped after).
The first tenant of a day also builds the day's world template; that one-off cost is printed separately.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable

from openbank_cli.stack import LocalStack
from openbank_kit import pg_admin
from openbank_kit.settings import load_settings
from openbank_kit.tenancy import generate_world_for

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def run_provisioning_benchmark(backends: list[str], tenant_count: int, emit: Callable[[str], None]) -> dict:
    results = {}
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="openbank-bench-") as var_dir:
            database_name = None
            admin_url = os.environ.get("OPENBANK_TEST_DATABASE_URL") or DEFAULT_ADMIN_URL
            overrides: dict = {"var_dir": var_dir, "database_url": None}
            if backend == "postgresql":
                database_name = pg_admin.fresh_database_name("openbank_bench")
                overrides["database_url"] = pg_admin.create_database(admin_url, database_name)
            try:
                results[backend] = _measure(load_settings(**overrides), tenant_count, emit, backend)
            finally:
                if database_name:
                    pg_admin.drop_database(admin_url, database_name)
    return results


def _measure(settings, tenant_count: int, emit, backend: str) -> dict:
    stack = LocalStack(settings)
    try:
        stack.migrate()
        service = stack.tenant_service()
        spec = service.world_spec()
        started = time.perf_counter()
        world = generate_world_for(spec)  # cached after the first backend: generation is printed once
        generate_s = time.perf_counter() - started
        rows = sum(len(table_rows) for table_rows in world.tables.values())

        started = time.perf_counter()
        service.create("bench-first")  # builds the day's template in every service, then copies it
        first_s = time.perf_counter() - started

        timings = []
        for number in range(tenant_count):
            started = time.perf_counter()
            service.create(f"bench-{number:03d}")
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        service.reset("bench-000")
        reset_s = time.perf_counter() - started
    finally:
        stack.dispose()
    result = {
        "rows_per_tenant": rows,
        "world_generation_s": generate_s,
        "first_tenant_with_template_s": first_s,
        "tenant_min_s": min(timings),
        "tenant_median_s": statistics.median(timings),
        "tenant_max_s": max(timings),
        "reset_s": reset_s,
    }
    emit(
        f"{backend:<10} rows/tenant {rows:>7}  world generation {generate_s:6.2f} s{' (cached)' if generate_s < 0.01 else ''}  "
        f"first tenant (builds template) {first_s:6.2f} s  "
        f"tenant provisioning min {result['tenant_min_s']:.3f} s / median {result['tenant_median_s']:.3f} s / "
        f"max {result['tenant_max_s']:.3f} s over {tenant_count}  reset {reset_s:.3f} s"
    )
    return result
