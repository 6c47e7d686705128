"""Wire shapes of the Lending API (OBIE-style PascalCase), separate from the tables (DESIGN.md §3, §6)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RepaymentMethodName = Literal["EQUAL_INSTALMENT", "EQUAL_PRINCIPAL", "INTEREST_ONLY"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmountBody(_Strict):
    Amount: Any  # parsed by Money.from_obie so that the error names the JSON path and refuses floats
    Currency: Any


class PayeeBody(_Strict):
    """受托支付: the merchant's account at this bank that the loan is paid to."""

    SchemeName: Literal["CN.CNAPS.AccountNumber"]
    Identification: str = Field(pattern=r"^\d{19}$")
    Name: str | None = Field(default=None, max_length=140)


class ConsentData(_Strict):
    ProductId: str = Field(min_length=1, max_length=40)
    Amount: AmountBody
    TermMonths: int = Field(ge=1, le=360, strict=True)
    RepaymentMethod: RepaymentMethodName
    Purpose: str = Field(min_length=1, max_length=140)
    PartnerScenario: str | None = Field(default=None, max_length=70)
    Payee: PayeeBody | None = None


class ConsentRequest(_Strict):
    Data: ConsentData
    Risk: dict[str, Any] = Field(default_factory=dict)


class ApplicationData(_Strict):
    ConsentId: str = Field(min_length=1, max_length=40)


class ApplicationRequest(_Strict):
    Data: ApplicationData
    Risk: dict[str, Any] = Field(default_factory=dict)


class AcceptData(_Strict):
    OfferId: str = Field(min_length=1, max_length=40)


class AcceptRequest(_Strict):
    Data: AcceptData
    Risk: dict[str, Any] = Field(default_factory=dict)


class RepaymentData(_Strict):
    Amount: AmountBody
    Type: Literal["PARTIAL", "FULL"] = "PARTIAL"


class RepaymentRequest(_Strict):
    Data: RepaymentData
    Risk: dict[str, Any] = Field(default_factory=dict)


class CustomerRevocationRequest(_Strict):
    """The customer withdraws the consent at the bank (sandbox consent dashboard, docs/internal-api.md)."""

    CustomerId: str = Field(min_length=1, max_length=40)


class AuthorisationRequest(_Strict):
    ClientId: str = Field(min_length=1, max_length=128)
    CustomerId: str = Field(min_length=1, max_length=40)
    Decision: Literal["approve", "deny"]
    AccountIds: list[str] | None = Field(default=None, max_length=50)
