"""Annotated dependencies the services' routes share: their database, the accounts client, the issuer, the key.

Dependencies that only read app state are `async def`: FastAPI runs a plain `def` dependency in the thread pool,
one hop per dependency per request (about 0.1 ms of CPU each, measured), before the route's own hop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openbank_kit.async_db import AsyncDatabase
from openbank_kit.db import Database
from openbank_kit.http_client import ServiceClient


async def _db(request: Request) -> Database:
    return request.app.state.db


async def _accounts(request: Request) -> ServiceClient:
    return request.app.state.accounts_client


async def _issuer(request: Request) -> str:
    return request.app.state.settings.issuer


async def _adb(request: Request) -> AsyncDatabase:
    return request.app.state.adb


DbDep = Annotated[Database, Depends(_db)]
AsyncDbDep = Annotated[AsyncDatabase, Depends(_adb)]  # for async routes (openbank_kit/async_db.py)
AccountsDep = Annotated[ServiceClient, Depends(_accounts)]  # services that move money through the ledger
IssuerDep = Annotated[str, Depends(_issuer)]
IdempotencyKeyDep = Annotated[str | None, Header(alias="x-idempotency-key")]
