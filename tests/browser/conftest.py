"""One real stack per test module: `openbank up --with-demo` on free ports (gateway, services and the partner demo
shop), plus headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)"
        )
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the dev extras: pip install -e '.[dev]'"
    )
    ports = free_ports(5)
    var_dir = tmp_path_factory.mktemp("browser") / "var"
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
