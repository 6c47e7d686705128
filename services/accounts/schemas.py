"""Wire shapes of the accounts service (OBIE-style PascalCase), separate from the tables."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AmountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Amount: str
    Currency: str


class PostingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    AccountId: str = Field(min_length=1, max_length=40)
    CreditDebitIndicator: Literal["Credit", "Debit"]
    Amount: AmountBody


class LedgerTransactionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Category: str = Field(min_length=1, max_length=20, pattern=r"^[A-Z_]+$")
    Description: str = Field(min_length=1, max_length=140)
    Reference: str | None = Field(default=None, max_length=64)
    CounterpartyName: str | None = Field(default=None, max_length=140)
    Postings: list[PostingBody] = Field(min_length=2, max_length=50)
