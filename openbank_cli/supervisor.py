"""`openbank up`: the gateway and the three services as separate processes, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from openbank_kit.settings import PORT_VARIABLES, KitSettings

APPS = {
    "gateway": "gateway.app:create_app",
    "accounts": "services.accounts.app:create_app",
    "payments": "services.payments.app:create_app",
    "loans": "services.loans.app:create_app",
}
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class StartupError(Exception):
    """The sandbox cannot start; the message says what to change."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path


def check_ports_free(settings: KitSettings) -> None:
    for name in APPS:
        port = settings.port_of(name)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((settings.host, port))
            except OSError:
                raise StartupError(
                    f"port {port} ({name}) on {settings.host} is already in use: stop what holds it "
                    f"or set {PORT_VARIABLES[name]} to another port"
                ) from None


def start_children(settings: KitSettings, env: dict[str, str]) -> list[Child]:
    log_dir = Path(settings.var_dir) / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    children = []
    for name, factory in APPS.items():
        log_path = log_dir / f"{name}.log"
        log_file = log_path.open("ab")
        command = [
            sys.executable, "-m", "uvicorn", factory, "--factory",
            "--host", settings.host, "--port", str(settings.port_of(name)),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        # A new session: Ctrl-C reaches only the supervisor, which then stops every child in order.
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=log_file, start_new_session=True)
        log_file.close()
        children.append(Child(name, process, log_path))
    return children


def wait_until_ready(settings: KitSettings, children: list[Child]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = {child.name: child for child in children}
    with httpx.Client(timeout=httpx.Timeout(2.0)) as client:
        while pending:
            for name, child in list(pending.items()):
                if child.process.poll() is not None:
                    raise StartupError(
                        f"{name} exited during start-up; last lines of {child.log_path}:\n{_tail(child)}"
                    )
                try:
                    if client.get(f"{settings.url_of(name)}/readyz").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise StartupError(
                    f"not ready after {READY_TIMEOUT_S:.0f} s: {', '.join(pending)} (see {Path(settings.var_dir) / 'log'})"
                )
            time.sleep(0.1)


def stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def supervise(children: list[Child]) -> int:
    """Block until Ctrl-C / SIGTERM (exit 0) or until a child dies (exit 1); stop every child either way."""
    stopping = {"signal": None}

    def _on_signal(signum, _frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        while stopping["signal"] is None:
            for child in children:
                if child.process.poll() is not None:
                    print(
                        f"error: {child.name} stopped unexpectedly (exit {child.process.returncode}); "
                        f"last lines of {child.log_path}:\n{_tail(child)}",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.2)
        print("\nstopping…", file=sys.stderr)
        return 0
    finally:
        stop_children(children)


def child_environment(settings: KitSettings, internal_token: str) -> dict[str, str]:
    env = dict(os.environ)
    env["OPENBANK_INTERNAL_TOKEN"] = internal_token
    env["OPENBANK_VAR_DIR"] = str(Path(settings.var_dir).resolve())
    return env


def _tail(child: Child, lines: int = 15) -> str:
    try:
        return "\n".join(child.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
