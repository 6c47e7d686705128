"""Shared by the end-to-end tests: `openbank up` started for real on free ports, in a temporary var dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

PROCESSES = ("gateway", "accounts", "payments", "loans")


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


@pytest.fixture
def up_env(tmp_path) -> dict[str, str]:
    return make_up_env(tmp_path)


def make_up_env(tmp_path) -> dict[str, str]:
    ports = free_ports(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
    env.update(
        {f"OPENBANK_{name.upper()}_PORT": str(port) for name, port in zip(PROCESSES, ports, strict=True)}
    )
    env.update(
        {
            "OPENBANK_VAR_DIR": str(tmp_path / "var"),
            "OPENBANK_ISSUER": f"http://127.0.0.1:{ports[0]}",
            "OPENBANK_WORLD_RETAIL_CUSTOMERS": "20",
            "OPENBANK_WORLD_SMES": "3",
        }
    )
    return env


@pytest.fixture(scope="session")
def shared_up(tmp_path_factory):
    """One `openbank up` for the tests that only use it as partners would (the demo tenant, each with its own app
    and persona journeys): (env, banner). Their modules are in xdist group "e2e-shared-up", so one worker starts it
    once; the start itself (clean exit on Ctrl-C, data reused) is test_up's to prove."""
    env = make_up_env(tmp_path_factory.mktemp("shared-up"))
    process, banner = start_up(env)
    try:
        yield env, banner
    finally:
        assert stop(process) == 0


def start_up(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    """`openbank up [args]`; returns once it prints its banner (the process and the banner)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "openbank_cli.main", "up", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    banner = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner.append(line)
        if "Ctrl-C stops everything" in line:
            return process, "".join(banner)
    process.kill()
    raise AssertionError("openbank up did not start:\n" + "".join(banner) + process.stderr.read())


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


def nothing_listens_on(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
