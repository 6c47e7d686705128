"""This project's biller directory and bill lookup (`/billpay/v1`): thin routes that call billpay.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openbank_kit.caller import CallerDep
from openbank_kit.deps import AccountsDep, DbDep, IssuerDep
from services.payments import billpay

router = APIRouter(prefix="/billpay/v1", tags=["billpay: billers and bills"])


@router.get("/billers")
def list_billers(
    caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    Category: Annotated[str | None, Query(max_length=16)] = None,  # noqa: N803 (the wire name)
) -> dict:  # fmt: skip
    return billpay.list_billers(db, accounts, caller, Category, issuer)


@router.get("/billers/{biller_id}/bills")
def list_bills(
    biller_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    CustomerReference: Annotated[str, Query(max_length=35)],  # noqa: N803
) -> dict:  # fmt: skip
    return billpay.list_bills(db, accounts, caller, biller_id, CustomerReference, issuer)
