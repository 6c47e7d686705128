"""The README's quickstart runs as written: its shell block, pasted into bash next to `openbank up`, takes a loan for
zhang.wei (APPROVED, then ACTIVE) and settles a payment to li.na (ACCC)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = pytest.mark.xdist_group("e2e-shared-up")
BLOCK = re.compile(r"<!-- quickstart:begin -->\n```sh\n(.*?)```\n<!-- quickstart:end -->", re.S)


def quickstart_script() -> str:
    found = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, "README.md must hold exactly one quickstart block"
    return found[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quickstart uses curl")
def test_the_readme_quickstart_approves_a_loan_and_settles_a_payment(shared_up):
    up_env, _ = shared_up
    workdir = Path(up_env["OPENBANK_VAR_DIR"]).parent  # the script reads var/demo-initial-access-token
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", quickstart_script()],
        cwd=workdir,
        env={**up_env, "BASE": up_env["OPENBANK_ISSUER"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["APPROVED", "ACTIVE", "ACCC"], result.stdout + result.stderr
