"""`openbank decision replay`: re-run a stored decision from its stored inputs and compare, field by field."""

from __future__ import annotations

from sqlalchemy import select

from openbank_kit.db import Database
from openbank_kit.errors import NotFound
from openbank_kit.settings import KitSettings
from services.loans.models import CreditDecision
from services.loans.service import replay_decision


def replay_stored_decision(settings: KitSettings, decision_id: str, tenant_id: str | None = None) -> dict:
    db = Database("loans", settings)
    try:
        with db.read_session() as session:
            query = select(CreditDecision).where(CreditDecision.decision_id == decision_id)
            if tenant_id:
                query = query.where(CreditDecision.tenant_id == tenant_id)
            found = list(session.scalars(query.limit(2)))
    finally:
        db.dispose()
    if not found:
        raise NotFound(
            message=f"no decision {decision_id}" + (f" in tenant {tenant_id}" if tenant_id else "")
        )
    if len(found) > 1:
        raise NotFound(message=f"decision {decision_id} exists in several tenants: name one with --tenant")
    return replay_report(found[0])


def replay_report(decision: CreditDecision) -> dict:
    result, reproduced = replay_decision(decision)
    replayed = result.to_json()
    differences = {
        key: {"Stored": decision.result.get(key), "Replayed": replayed.get(key)}
        for key in sorted(set(replayed) | set(decision.result))
        if replayed.get(key) != decision.result.get(key)
    }
    return {
        "DecisionId": decision.decision_id,
        "TenantId": decision.tenant_id,
        "RulesVersion": decision.rules_version,
        "Outcome": replayed["Outcome"],
        "ReasonCodes": replayed["ReasonCodes"],
        "Reproduced": reproduced,
        "Differences": differences,
    }
