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
DEMO_SHOP_PORT_VARIABLE = "SHOP_PORT"
DEMO_SHOP_DEFAULT_PORT = 8400
# The demo shop is a partner app, not part of the bank: it lives in the source tree's examples/, run from there.
SOURCE_ROOT = Path(__file__).resolve().parents[1]
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


def demo_shop_port() -> int:
    return int(os.environ.get(DEMO_SHOP_PORT_VARIABLE, DEMO_SHOP_DEFAULT_PORT))


def check_demo_shop_port_free(settings: KitSettings) -> None:
    port = demo_shop_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise StartupError(
                f"port {port} (demo shop) is already in use: set {DEMO_SHOP_PORT_VARIABLE} to another port"
            ) from None
    if not (SOURCE_ROOT / "examples" / "partner_shop").is_dir():
        raise StartupError("--with-demo needs the source tree (examples/partner_shop); run from a checkout")


def start_demo_shop(settings: KitSettings, env: dict[str, str], initial_access_token: str) -> Child:
    """The partner demo shop (examples/partner_shop) as one more child; it registers itself in the demo tenant."""
    var_dir = Path(settings.var_dir).resolve()
    log_path = var_dir / "log" / "shop.log"
    shop_env = {
        **env,
        "SHOP_PORT": str(demo_shop_port()),
        "SHOP_ISSUER": settings.issuer,
        "SHOP_INITIAL_ACCESS_TOKEN": initial_access_token,
        "SHOP_STATE_DIR": str(var_dir / "partner-shop"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")])),
    }
    log_file = log_path.open("ab")
    process = subprocess.Popen([sys.executable, "-m", "examples.partner_shop"], env=shop_env, cwd=SOURCE_ROOT,
                               stdout=log_file, stderr=log_file, start_new_session=True)  # fmt: skip
    log_file.close()
    return Child("shop", process, log_path)


def wait_until_shop_ready(child: Child) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(timeout=httpx.Timeout(2.0), trust_env=False) as client:
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise StartupError(
                    f"the demo shop exited during start-up; last lines of {child.log_path}:\n{_tail(child)}"
                )
            try:
                if client.get(f"http://127.0.0.1:{demo_shop_port()}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise StartupError(f"the demo shop was not ready after {READY_TIMEOUT_S:.0f} s (see {child.log_path})")


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
