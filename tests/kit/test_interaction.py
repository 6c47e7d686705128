from __future__ import annotations

import asyncio
import uuid

import pytest

from openbank_kit.interaction import (
    MAX_INTERACTION_ID_CHARS,
    accept_interaction_id,
    bind_tenant_id,
    current_interaction_id,
    current_tenant_id,
    request_context,
)


@pytest.mark.parametrize(
    "value", ["93bac548-d2de-4546-b106-880a5018460d", "abc", "a b", "x" * MAX_INTERACTION_ID_CHARS]
)
def test_sane_caller_ids_are_kept_exactly(value: str) -> None:
    assert accept_interaction_id(value) == value


@pytest.mark.parametrize(
    "value", [None, "", "x" * (MAX_INTERACTION_ID_CHARS + 1), "a\nb", "a\x00b", "é", "id\t1"]
)
def test_missing_or_unsafe_ids_are_replaced_by_a_uuid4(value: str | None) -> None:
    replaced = accept_interaction_id(value)
    assert uuid.UUID(replaced).version == 4


def test_request_context_sets_and_restores() -> None:
    assert current_interaction_id() is None
    with request_context("job-1") as context:
        assert current_interaction_id() == "job-1"
        bind_tenant_id("team-a")
        assert current_tenant_id() == "team-a"
        assert context.tenant_id == "team-a"
    assert current_interaction_id() is None
    assert current_tenant_id() is None


def test_request_context_without_id_makes_one() -> None:
    with request_context():
        assert uuid.UUID(current_interaction_id() or "")


def test_bind_tenant_id_outside_a_request_binds_for_this_context_only() -> None:
    async def job(tenant: str) -> tuple[str | None, str | None]:
        bind_tenant_id(tenant)
        await asyncio.sleep(0)
        return current_tenant_id(), current_interaction_id()

    async def main() -> list[tuple[str | None, str | None]]:
        return await asyncio.gather(job("team-a"), job("team-b"))

    assert asyncio.run(main()) == [("team-a", None), ("team-b", None)]
    assert current_tenant_id() is None
