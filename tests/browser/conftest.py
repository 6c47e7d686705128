"""One real stack per test module: `openbank up --with-demo` on free ports (gateway, services and the partner demo
shop), plus headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PROCESSES, free_ports, start_up, stop

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class RunningStack:
    gateway_url: str
    shop_url: str
    var_dir: Path
    initial_access_token: str
    ports: tuple[str, ...]  # base URLs: gateway, accounts, payments, loans, shop

    def sandbox(self, method: str, path: str, **kwargs) -> httpx.Response:
        """A sandbox API call with the demo tenant's initial access token."""
        headers = {"Authorization": f"Bearer {self.initial_access_token}"}
        with httpx.Client(base_url=self.gateway_url, timeout=30, trust_env=False) as http:
            return http.request(method, path, headers=headers, **kwargs)


def skip_without_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)"
        )
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the dev extras: pip install -e '.[dev]'"
    )


@contextmanager
def stack_up(var_dir: Path) -> Iterator[RunningStack]:
    """`openbank up --with-demo` on free ports in `var_dir`; stopped (and checked to exit 0) on leaving."""
    ports = free_ports(5)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBANK_", "SHOP_"))}
    env.update(
        {f"OPENBANK_{name.upper()}_PORT": str(port) for name, port in zip(PROCESSES, ports, strict=False)}
    )
    env.update({
        "OPENBANK_VAR_DIR": str(var_dir),
        "OPENBANK_ISSUER": f"http://127.0.0.1:{ports[0]}",
        "OPENBANK_WORLD_RETAIL_CUSTOMERS": "20",
        "OPENBANK_WORLD_SMES": "3",
        "SHOP_PORT": str(ports[4]),
    })  # fmt: skip
    process, banner = start_up(env, "--with-demo")
    try:
        assert "demo shop" in banner
        yield RunningStack(
            gateway_url=f"http://127.0.0.1:{ports[0]}",
            shop_url=f"http://127.0.0.1:{ports[4]}",
            var_dir=var_dir,
            initial_access_token=(var_dir / "demo-initial-access-token").read_text().strip(),
            ports=tuple(f"http://127.0.0.1:{port}" for port in ports),
        )
    finally:
        assert stop(process) == 0


@contextmanager
def shop_process(env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """`python -m examples.partner_shop` with `env` (SHOP_* settings) on `port`; its base URL once healthy."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBANK_", "SHOP_"))}
    full_env.update({**env, "SHOP_PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "examples.partner_shop"], env=full_env,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:  # a bound on the start-up: it registers nothing, only fetches tokens and subscribes
                assert process.poll() is None, "the shop exited:\n" + log_path.read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the shop did not start:\n" + log_path.read_text()
                time.sleep(0.25)
            yield url
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory):
    skip_without_browser()
    with stack_up(tmp_path_factory.mktemp("browser") / "var") as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(running_stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's chromium, never a downloaded one; no sandbox because the tests may run as root in a container.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile per test (its own cookies: a new shopper), English consent pages."""
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()
