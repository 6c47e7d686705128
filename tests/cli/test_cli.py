"""The `openbank` command as a person at a terminal uses it: clear one-line errors, nothing half-done."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SMALL_WORLD = {"OPENBANK_WORLD_RETAIL_CUSTOMERS": "5", "OPENBANK_WORLD_SMES": "2"}


def openbank(*args: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBANK_")}
    full_env.update(SMALL_WORLD)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "openbank_cli.main", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture
def var_env(tmp_path) -> dict[str, str]:
    return {"OPENBANK_VAR_DIR": str(tmp_path / "var")}


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for needle in needles:
        assert needle in error_lines[0], result.stderr


def test_a_malformed_setting_names_the_variable(var_env):
    result = openbank("seed", "--tenant", "team-a", env={**var_env, "OPENBANK_GATEWAY_PORT": "eighty"})
    assert result.returncode == 2
    assert_one_line_error(result, "OPENBANK_GATEWAY_PORT")


def test_an_unreachable_database_server_is_one_clear_line(var_env):
    env = {**var_env, "OPENBANK_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/openbank"}
    result = openbank("seed", "--tenant", "team-a", env=env)
    assert_one_line_error(result, "cannot reach", "127.0.0.1:1")


def test_seed_reset_and_their_mistakes(var_env):
    seeded = openbank("seed", "--tenant", "team-a", env=var_env)
    assert seeded.returncode == 0, seeded.stderr
    assert "InitialAccessToken: iat_" in seeded.stdout

    assert_one_line_error(openbank("seed", "--tenant", "team-a", env=var_env), "already exists")
    assert_one_line_error(openbank("seed", "--tenant", "Team A", env=var_env), "Name")
    assert_one_line_error(openbank("reset", "--tenant", "nobody", env=var_env), "unknown tenant")

    reset = openbank("reset", "--tenant", "team-a", env=var_env)
    assert reset.returncode == 0, reset.stderr
    listed = openbank("tenants", env=var_env)
    assert listed.stdout.startswith("team-a\t")


def test_missing_option_is_a_usage_error_without_traceback(var_env):
    result = openbank("seed", env=var_env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--tenant" in result.stderr


def test_up_with_demo_needs_the_demo_tenant(var_env):
    result = openbank("up", "--no-demo", "--with-demo", env=var_env)
    assert result.returncode == 2
    assert_one_line_error(result, "--with-demo", "--no-demo")


def test_up_with_demo_names_the_shop_port_when_it_is_taken(var_env):
    import socket

    from tests.e2e.conftest import PROCESSES, free_ports

    ports = free_ports(4)
    env = {**var_env, **{f"OPENBANK_{n.upper()}_PORT": str(p) for n, p in zip(PROCESSES, ports, strict=True)}}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = openbank("up", "--with-demo", env={**env, "SHOP_PORT": str(taken.getsockname()[1])})
    assert result.returncode == 2
    assert_one_line_error(result, "demo shop", "SHOP_PORT")
    assert not (os.path.exists(os.path.join(var_env["OPENBANK_VAR_DIR"], "demo-initial-access-token")))
