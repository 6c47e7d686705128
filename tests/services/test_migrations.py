"""Each service's migrations build exactly the tables its models describe, in its own database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from openbank_kit.migrations import is_at_head, metadata_of

SERVICES = {
    "gateway": ("gateway.app", "gateway.models"),
    "accounts": ("services.accounts.app", "services.accounts.models"),
    "payments": ("services.payments.app", "services.payments.models"),
    "loans": ("services.loans.app", "services.loans.models"),
}


@pytest.mark.parametrize("service", SERVICES)
def test_migrated_schema_matches_the_models(stack, service):
    import importlib

    app_module, models_module = (importlib.import_module(name) for name in SERVICES[service])
    db = stack.db(service)
    assert is_at_head(db, app_module.MIGRATIONS_DIR)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, metadata_of(models_module.ALL_TABLES))
    assert differences == []


def test_each_service_keeps_its_own_database(stack):
    locations = {service: (stack.db(service).url, stack.db(service).schema) for service in SERVICES}
    assert len(set(locations.values())) == len(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_health_and_readiness(stack, service):
    client = stack.gateway if service == "gateway" else stack.services[service]
    assert client.get("/healthz").json() == {"Status": "UP", "Service": service}
    ready = client.get("/readyz", headers={"x-fapi-interaction-id": "probe-1"})
    assert ready.status_code == 200
    assert ready.headers["x-fapi-interaction-id"] == "probe-1"
