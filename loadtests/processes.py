"""Starting real sandbox processes for benchmarks: free ports, readiness, CPU, a whole stack on a fresh database."""

from __future__ import annotations

import csv
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from openbank_kit import pg_admin

READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base_url} did not become ready within {READY_TIMEOUT_S:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its direct children (uvicorn --workers forks them), from /proc (Linux).

    Unlike wall time, it is not inflated by a busy machine or a load generator sharing the cores.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def postgresql_cpu_seconds() -> float:
    """User + system CPU of every process named `postgres` on this machine (the server and its backends), with what
    backends that have exited spent: the postmaster reaps them, so their CPU is in its children's times (without
    them, a backend closing mid-run would make the server's figure drop, even below zero)."""
    ticks = os.sysconf("SC_CLK_TCK")
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if name == "postgres":
            processes[int(entry.name)] = fields
    total = 0
    for fields in processes.values():
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if int(fields[1]) not in processes:  # the postmaster: add its reaped children's cutime, cstime
            total += int(fields[13]) + int(fields[14])
    return total / ticks


SERVICE_MODULES = {
    "gateway": "gateway.app",
    "accounts": "services.accounts.app",
    "payments": "services.payments.app",
    "loans": "services.loans.app",
}
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class BenchStack:
    """A fresh PostgreSQL database, tenant `bench` with the default world, and the named processes as uvicorn servers
    on free ports (the gateway last, once the services answer). Used as a context manager; everything is stopped and
    the database dropped at the end.

    OPENBANK_BENCH_DATABASE_URL names the server (default the local one); OPENBANK_BENCH_REDIS_URL, when set, gives the
    gateway Redis for its shared state. `extra_env` (OPENBANK_* settings) reaches the started processes and the
    in-process stack that provisions the tenant alike, e.g. a smaller world or a shorter event lease for a test.
    """

    def __init__(
        self,
        services: tuple[str, ...],
        *,
        workers: int = 1,
        pool_size: int = 4,
        prefix: str = "bench",
        extra_env: dict[str, str] | None = None,
    ):
        self.services = services
        self.extra_env = dict(extra_env or {})
        self.workers = workers
        self.pool_size = (
            pool_size  # per worker process (overflow doubles it): stays under PostgreSQL's 100 connections
        )
        self.admin_url = os.environ.get("OPENBANK_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
        self.database_name = pg_admin.fresh_database_name(f"openbank_{prefix}")
        self.ports = {service: free_port() for service in services}
        self.issuer = f"http://127.0.0.1:{self.ports['gateway']}"
        self.processes: dict[str, subprocess.Popen] = {}
        self._var_dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> BenchStack:
        from openbank_cli.stack import LocalStack
        from openbank_kit.settings import load_settings

        self.database_url = pg_admin.create_database(self.admin_url, self.database_name)
        try:
            self._var_dir = tempfile.TemporaryDirectory(prefix="openbank-bench-")
            overrides = {"var_dir": self._var_dir.name, "issuer": self.issuer, "database_url": self.database_url,
                         "internal_token": secrets.token_urlsafe(16), "db_pool_size": self.pool_size,
                         **{f"{s}_port": p for s, p in self.ports.items()}}  # fmt: skip
            redis_url = os.environ.get("OPENBANK_BENCH_REDIS_URL")
            if redis_url:
                overrides["redis_url"] = redis_url
            self.settings = _with_env(self.extra_env, lambda: load_settings(**overrides))
            self.stack = LocalStack(self.settings)
            self.stack.migrate()
            self.initial_token = self.stack.tenant_service().create("bench").initial_access_token
            self.env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
            self.env.update({"OPENBANK_VAR_DIR": self._var_dir.name, "OPENBANK_ISSUER": self.issuer,
                             "OPENBANK_DATABASE_URL": self.database_url,
                             "OPENBANK_INTERNAL_TOKEN": self.settings.internal_token, "OPENBANK_LOG_LEVEL": "WARNING",
                             "OPENBANK_DB_POOL_SIZE": str(self.pool_size),
                             **{f"OPENBANK_{s.upper()}_PORT": str(p) for s, p in self.ports.items()}})  # fmt: skip
            if redis_url:
                self.env["OPENBANK_REDIS_URL"] = redis_url
            self.env.update(self.extra_env)
            for service in sorted(self.services, key=lambda name: name == "gateway"):
                self.start(service)
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> subprocess.Popen:
        """(Re)start one process and wait until it is ready."""
        command = [sys.executable, "-m", "uvicorn", f"{SERVICE_MODULES[service]}:create_app", "--factory",
                   "--port", str(self.ports[service]), "--workers", str(self.workers), "--no-access-log",
                   "--log-level", "warning"]  # fmt: skip
        process = subprocess.Popen(
            command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.processes[service] = process
        wait_ready(self.url(service))
        return process

    def settle(self) -> None:
        """Vacuum, analyze and checkpoint the bench database (pg_admin.settle): after the work list is prepared, and
        again after the warm-up, before the measured run."""
        pg_admin.settle(self.database_url)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each started process, of the local PostgreSQL server's processes (all of them:
        a benchmark is meant to run alone) and of finished child processes (the Locust runs)."""
        spent = {service: cpu_seconds(process.pid) for service, process in self.processes.items()}
        spent["postgresql"] = postgresql_cpu_seconds()
        children = os.times()
        spent["locust"] = children.children_user + children.children_system
        return spent

    def __exit__(self, *_exc) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if hasattr(self, "stack"):
            self.stack.dispose()
        pg_admin.drop_database(self.admin_url, self.database_name)
        if self._var_dir is not None:
            self._var_dir.cleanup()


def _with_env(env: dict[str, str], build):
    """`build()` with `env` set in os.environ for the call (settings are read from the environment)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return build()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def stagger_start(user, per_user_rate: float, *, clock=time.monotonic, sleep=time.sleep) -> None:
    """Call from a user's `on_start`, with `wait_time = fixed_rate(per_user_rate)`: waits a random part of one
    interval, and the user's schedule starts there. Locust starts every user at once, and `constant_throughput`
    paces each user from its creation, so its "fixed rate" arrives as one burst of all users per interval
    (64 requests together every 2.6 s at 25/s) and latency measures the burst's queue, not the service."""
    sleep(random.uniform(0, 1 / per_user_rate))  # gevent's sleep in a Locust process (patched)
    user.paced_due_s = clock()


def fixed_rate(per_user_rate: float, *, clock=time.monotonic):
    """A Locust `wait_time`: the user's calls are due every 1/rate seconds from its staggered start, whatever
    each call took (a late call is sent at once, and the schedule does not drift)."""
    interval_s = 1 / per_user_rate

    def wait_time(user) -> float:
        now = clock()
        user.paced_due_s = getattr(user, "paced_due_s", now) + interval_s
        return max(0.0, user.paced_due_s - now)

    return wait_time


class WorkList:
    """Prepared work items handed out once each, across a Locust process's users (threads on gevent)."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> dict | None:
        with self._lock:
            if self._next >= len(self.items):
                return None
            self._next += 1
            return self.items[self._next - 1]


def run_locust_headless(
    locustfile: Path, host: str, users: int, duration_s: int, prefix: Path, env: dict,
    user_classes: tuple[str, ...] = (),
) -> dict:  # fmt: skip
    """Locust, headless, all users started at once (only `user_classes` when given); its CSV
    (`<prefix>_stats.csv`) read back by request name."""
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host, "-u", str(users),
        "-r", str(users), "--run-time", f"{duration_s}s", "--csv", str(prefix), "--html", f"{prefix}.html",
        "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5", *user_classes,
    ]  # fmt: skip
    subprocess.run(command, env={**os.environ, **env}, check=False, stdout=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}
