"""The partner example (examples/partner_fapi2.py) runs as written against `openbank up`, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.partner_fapi2 import run

pytestmark = pytest.mark.xdist_group("e2e-shared-up")


def test_the_fapi2_partner_example_completes_every_step(shared_up):
    up_env, _ = shared_up
    token = (Path(up_env["OPENBANK_VAR_DIR"]) / "demo-initial-access-token").read_text().strip()
    steps: list[str] = []
    result = run(up_env["OPENBANK_ISSUER"], token, say=steps.append)
    numbered = [step.split(".")[0] for step in steps if not step.startswith(" ")]
    assert numbered == ["1", "2", "3", "4", "5", "6", "7"]
    assert result["tokens"]["token_type"] == "DPoP" and result["tokens"]["refresh_token"]
    assert result["whoami"]["ClientId"] == result["client_id"] and result["whoami"]["TenantId"] == "demo"
    assert result["whoami"]["Subject"] != result["client_id"]  # a customer's token, not the app's
    assert result["whoami"]["ConsentId"] and result["accounts"]  # the consent named at PAR opens the data
