"""AISP reads with the customer's token: every route is one call into aisp_service.

Not served (404, as for any unknown path; docs/accounts.md): `/offers`, `/accounts/{AccountId}/offers`,
`/accounts/{AccountId}/statements/{StatementId}/file`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.accounts import aisp_service as aisp
from services.accounts.api.deps import AISP_PREFIX, CallerDep, PageDep

router = APIRouter(prefix=AISP_PREFIX, tags=["AISP: account information"])
TRANSACTION_PARAMS = {"fromBookingDateTime", "toBookingDateTime", "cursor"}


def _filters(request: Request) -> aisp.TransactionFilter:
    aisp.require_known_filters(request.query_params.keys(), TRANSACTION_PARAMS)
    params = request.query_params
    return aisp.TransactionFilter(
        from_booking=params.get("fromBookingDateTime"),
        to_booking=params.get("toBookingDateTime"),
        cursor=params.get("cursor"),
    )


@router.get("/accounts")
def get_accounts(caller: CallerDep, page: PageDep, request: Request) -> dict:
    return aisp.accounts(request.app.state.db, caller, page)


@router.get("/accounts/{AccountId}")
def get_account(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.accounts(request.app.state.db, caller, page, AccountId)


@router.get("/balances")
def get_balances(caller: CallerDep, page: PageDep, request: Request) -> dict:
    return aisp.balances(request.app.state.db, caller, page)


@router.get("/accounts/{AccountId}/balances")
def get_account_balances(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.balances(request.app.state.db, caller, page, AccountId)


@router.get("/transactions")
def get_transactions(caller: CallerDep, page: PageDep, request: Request) -> dict:
    return aisp.transactions(request.app.state.db, caller, page, _filters(request))


@router.get("/accounts/{AccountId}/transactions")
def get_account_transactions(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.transactions(request.app.state.db, caller, page, _filters(request), AccountId)


@router.get("/party")
def get_party(caller: CallerDep, page: PageDep, request: Request) -> dict:
    return aisp.party_of_psu(request.app.state.db, caller, page)


@router.get("/accounts/{AccountId}/party")
def get_account_party(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.account_parties(request.app.state.db, caller, page, AccountId, all_parties=False)


@router.get("/accounts/{AccountId}/parties")
def get_account_parties(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.account_parties(request.app.state.db, caller, page, AccountId, all_parties=True)


@router.get("/products")
def get_products(caller: CallerDep, page: PageDep, request: Request) -> dict:
    return aisp.products(request.app.state.db, caller, page)


@router.get("/accounts/{AccountId}/product")
def get_account_product(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.products(request.app.state.db, caller, page, AccountId)


@router.get("/statements")
def get_statements(caller: CallerDep, page: PageDep, request: Request) -> dict:
    return aisp.statements(request.app.state.db, caller, page)


@router.get("/accounts/{AccountId}/statements")
def get_account_statements(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return aisp.statements(request.app.state.db, caller, page, AccountId)


@router.get("/accounts/{AccountId}/statements/{StatementId}")
def get_account_statement(
    AccountId: str,
    StatementId: str,
    caller: CallerDep,
    page: PageDep,
    request: Request,  # noqa: N803
) -> dict:
    return aisp.statements(request.app.state.db, caller, page, AccountId, StatementId)


@router.get("/accounts/{AccountId}/statements/{StatementId}/transactions")
def get_statement_transactions(
    AccountId: str,
    StatementId: str,
    caller: CallerDep,
    page: PageDep,
    request: Request,  # noqa: N803
) -> dict:
    return aisp.transactions(request.app.state.db, caller, page, _filters(request), AccountId, StatementId)


def _empty_routes(resource: str) -> None:
    def bulk(caller: CallerDep, page: PageDep, request: Request) -> dict:
        return aisp.empty_resource(request.app.state.db, caller, page, resource)

    def per_account(AccountId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
        return aisp.empty_resource(request.app.state.db, caller, page, resource, AccountId)

    router.add_api_route(f"/{resource}", bulk, methods=["GET"], name=f"get_{resource}")
    router.add_api_route(f"/accounts/{{AccountId}}/{resource}", per_account, methods=["GET"],
                         name=f"get_account_{resource}")  # fmt: skip


for _resource in aisp.EMPTY_RESOURCES:
    _empty_routes(_resource)
