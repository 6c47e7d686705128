"""Replaying a stored decision reproduces it exactly; a tampered input shows the difference."""

from __future__ import annotations

from typer.testing import CliRunner

from openbank_cli.main import app
from services.loans import repository
from services.loans.replay import replay_report, replay_stored_decision


def _decision_ids(partner) -> list[str]:
    ids = []
    for username, terms in (
        ("zhang.wei", {}),
        ("li.na", {}),
        ("wang.fang", {}),
        ("sun.hui", {"product_id": "sme-tax-loan"}),
    ):
        _, _, response = partner.journey(username, **terms)
        ids.append(response.json()["Data"]["Decision"]["DecisionId"])
    return ids


def test_every_stored_decision_replays_exactly(shared_partner, stack):
    for decision_id in _decision_ids(shared_partner):
        report = replay_stored_decision(stack.settings, decision_id, shared_partner.tenant_id)
        assert report["Reproduced"] and report["Differences"] == {}, report


def test_a_changed_input_is_reported_as_a_difference(shared_partner, stack):
    decision_id = _decision_ids(shared_partner)[0]
    with stack.db("loans").read_session() as session:
        decision = repository.decision(session, shared_partner.tenant_id, decision_id)
    decision.features = {**decision.features, "blacklisted": True}
    report = replay_report(decision)
    assert not report["Reproduced"] and report["Differences"]["Outcome"]["Replayed"] == "DECLINED"


def test_the_cli_replays_a_decision(shared_partner, stack, monkeypatch):
    decision_id = _decision_ids(shared_partner)[0]
    monkeypatch.setenv("OPENBANK_VAR_DIR", str(stack.settings.var_dir))
    if stack.settings.database_url:
        monkeypatch.setenv("OPENBANK_DATABASE_URL", stack.settings.database_url)
    result = CliRunner().invoke(app, ["decision", "replay", decision_id])
    assert result.exit_code == 0, result.output
    assert '"Reproduced": true' in result.stdout
    missing = CliRunner().invoke(app, ["decision", "replay", "dec_nope"])
    assert missing.exit_code == 1
