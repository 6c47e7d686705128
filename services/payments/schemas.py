"""Wire shapes of the PISP requests (OBIE v4.0 names), separate from the tables.

Fields payments acts on are typed; the other OBIE Initiation fields are accepted as objects and kept as sent,
because `POST /domestic-payments` must repeat the consent's Initiation exactly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CNAPS_SCHEME = "CN.CNAPS.AccountNumber"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmountBody(_Strict):
    Amount: Any  # parsed by Money.from_obie so that the error names the JSON path and refuses floats
    Currency: Any


class AccountBody(_Strict):
    SchemeName: str = Field(min_length=1, max_length=40)
    Identification: str = Field(min_length=1, max_length=256)
    Name: str | None = Field(default=None, min_length=1, max_length=350)
    SecondaryIdentification: str | None = Field(default=None, min_length=1, max_length=34)


class CreditorAccountBody(AccountBody):
    Name: str = Field(min_length=1, max_length=350)


class RemittanceBody(_Strict):
    Unstructured: list[str] | None = Field(default=None, max_length=10)
    Structured: list[dict[str, Any]] | None = Field(default=None, max_length=10)


class InitiationBody(_Strict):
    InstructionIdentification: str = Field(min_length=1, max_length=35)
    EndToEndIdentification: str = Field(min_length=1, max_length=35)
    LocalInstrument: str | None = Field(default=None, min_length=1, max_length=50)
    InstructedAmount: AmountBody
    DebtorAccount: AccountBody | None = None
    CreditorAccount: CreditorAccountBody
    CreditorAgent: dict[str, Any] | None = None
    CreditorPostalAddress: dict[str, Any] | None = None
    UltimateCreditor: dict[str, Any] | None = None
    UltimateDebtor: dict[str, Any] | None = None
    RegulatoryReporting: list[dict[str, Any]] | None = Field(default=None, max_length=10)
    RemittanceInformation: RemittanceBody | None = None
    SupplementaryData: dict[str, Any] | None = None


class ConsentData(_Strict):
    Initiation: InitiationBody
    ReadRefundAccount: Literal["No", "Yes"] | None = None
    Authorisation: dict[str, Any] | None = None
    SCASupportData: dict[str, Any] | None = None


class ConsentRequest(_Strict):
    Data: ConsentData
    Risk: dict[str, Any]


class PaymentData(_Strict):
    ConsentId: str = Field(min_length=1, max_length=128)
    Initiation: InitiationBody


class PaymentRequest(_Strict):
    Data: PaymentData
    Risk: dict[str, Any]


class CustomerRevocationRequest(_Strict):
    """The customer withdraws the consent at the bank (sandbox consent dashboard, docs/internal-api.md)."""

    CustomerId: str = Field(min_length=1, max_length=40)


class AuthorisationRequest(_Strict):
    ClientId: str = Field(min_length=1, max_length=128)
    CustomerId: str = Field(min_length=1, max_length=40)
    Decision: Literal["approve", "deny"]
    AccountIds: list[str] | None = Field(default=None, max_length=50)


class FundsConsentData(_Strict):
    ExpirationDateTime: AwareDatetime | None = None
    DebtorAccount: AccountBody


class FundsConsentRequest(_Strict):
    Data: FundsConsentData


class FundsConfirmationData(_Strict):
    ConsentId: str = Field(min_length=1, max_length=128)
    Reference: str = Field(min_length=1, max_length=35)
    InstructedAmount: AmountBody


class FundsConfirmationRequest(_Strict):
    Data: FundsConfirmationData
