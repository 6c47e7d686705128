"""Wire shapes of the accounts service (OBIE-style PascalCase), separate from the tables."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


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


class AccountAccessConsentData(BaseModel):
    """OBReadConsent1.Data; Permissions are checked against OBIE's rules in domain/consent.py."""

    model_config = ConfigDict(extra="forbid")

    Permissions: list[str] = Field(min_length=1, max_length=64)
    ExpirationDateTime: AwareDatetime | None = None
    TransactionFromDateTime: AwareDatetime | None = None
    TransactionToDateTime: AwareDatetime | None = None


class AccountAccessConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: AccountAccessConsentData
    Risk: dict


class ConsentAuthorisationBody(BaseModel):
    """What the gateway's consent page sends once the customer has decided (docs/internal-api.md)."""

    model_config = ConfigDict(extra="forbid")

    ClientId: str = Field(min_length=1, max_length=128)
    CustomerId: str = Field(min_length=1, max_length=40)
    Decision: Literal["approve", "deny"]
    AccountIds: list[str] | None = Field(default=None, max_length=100)


class ConsentRevocationBody(BaseModel):
    """The customer withdraws a consent at the bank (accounts' addition to docs/internal-api.md)."""

    model_config = ConfigDict(extra="forbid")

    CustomerId: str = Field(min_length=1, max_length=40)


class PlaceHoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    AccountId: str = Field(min_length=1, max_length=40)
    Amount: AmountBody
    Description: str = Field(min_length=1, max_length=140)
    Reference: str | None = Field(default=None, max_length=64)


class CaptureHoldBody(BaseModel):
    """Turn a hold into a posting: debit the held account, credit `CreditAccountId` (all of it, or `Amount`)."""

    model_config = ConfigDict(extra="forbid")

    CreditAccountId: str = Field(min_length=1, max_length=40)
    Amount: AmountBody | None = None
    Category: str = Field(min_length=1, max_length=20, pattern=r"^[A-Z_]+$")
    Description: str = Field(min_length=1, max_length=140)
    CounterpartyName: str | None = Field(default=None, max_length=140)


class LoanAccountBody(BaseModel):
    """Lending opens the receivable account of one loan (idempotent by LoanId; docs/lending.md)."""

    model_config = ConfigDict(extra="forbid")

    LoanId: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    BorrowerAccountId: str = Field(min_length=1, max_length=40)
    Nickname: str = Field(default="贷款账户 Loan account", min_length=1, max_length=70)
    Currency: Literal["CNY"] = "CNY"
