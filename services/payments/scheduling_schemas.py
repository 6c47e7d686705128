"""Wire shapes of scheduled payment and standing order requests (OBIE v4.0 names), separate from the tables.

Datetimes are kept as the partner wrote them (strings) and parsed by the service, so that the order's Initiation
can be compared with the consent's exactly and an error names the JSON path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.payments.schemas import (
    AccountBody,
    AmountBody,
    CreditorAccountBody,
    RemittanceBody,
    _Strict,
)

_DateTime = Field(min_length=1, max_length=64)


class ScheduledInitiationBody(_Strict):
    InstructionIdentification: str = Field(min_length=1, max_length=35)
    EndToEndIdentification: str | None = Field(default=None, min_length=1, max_length=35)
    LocalInstrument: str | None = Field(default=None, min_length=1, max_length=50)
    RequestedExecutionDateTime: str = _DateTime
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


class FrequencyBody(_Strict):
    Type: str = Field(min_length=1, max_length=40)
    CountPerPeriod: int | None = None
    PointInTime: str | None = Field(default=None, max_length=2)


class MandateBody(_Strict):
    MandateIdentification: str | None = Field(default=None, min_length=1, max_length=35)
    Classification: Literal["FIXE", "USGB", "VARI"] | None = None
    CategoryPurposeCode: str | None = Field(default=None, min_length=1, max_length=4)
    FirstPaymentDateTime: str = (
        _DateTime  # optional in OBIE, required by this bank (the schedule starts there)
    )
    RecurringPaymentDateTime: str | None = Field(default=None, min_length=1, max_length=64)
    FinalPaymentDateTime: str | None = Field(default=None, min_length=1, max_length=64)
    Frequency: FrequencyBody
    Reason: str | None = Field(default=None, min_length=1, max_length=256)


class StandingOrderInitiationBody(_Strict):
    RemittanceInformation: RemittanceBody | None = None
    NumberOfPayments: str | None = Field(default=None, min_length=1, max_length=35)
    FirstPaymentAmount: AmountBody
    RecurringPaymentAmount: AmountBody | None = None
    FinalPaymentAmount: AmountBody | None = None
    DebtorAccount: AccountBody | None = None
    CreditorAccount: CreditorAccountBody
    UltimateCreditor: dict[str, Any] | None = None
    UltimateDebtor: dict[str, Any] | None = None
    RegulatoryReporting: list[dict[str, Any]] | None = Field(default=None, max_length=10)
    MandateRelatedInformation: MandateBody
    SupplementaryData: dict[str, Any] | None = None


class ScheduledConsentData(_Strict):
    Permission: Literal["Create"]
    ReadRefundAccount: Literal["No", "Yes"] | None = None
    Initiation: ScheduledInitiationBody
    Authorisation: dict[str, Any] | None = None
    SCASupportData: dict[str, Any] | None = None


class ScheduledConsentRequest(_Strict):
    Data: ScheduledConsentData
    Risk: dict[str, Any]


class ScheduledPaymentData(_Strict):
    ConsentId: str = Field(min_length=1, max_length=128)
    Initiation: ScheduledInitiationBody


class ScheduledPaymentRequest(_Strict):
    Data: ScheduledPaymentData
    Risk: dict[str, Any]


class StandingOrderConsentData(_Strict):
    Permission: Literal["Create"]
    ReadRefundAccount: Literal["No", "Yes"] | None = None
    Initiation: StandingOrderInitiationBody
    Authorisation: dict[str, Any] | None = None
    SCASupportData: dict[str, Any] | None = None


class StandingOrderConsentRequest(_Strict):
    Data: StandingOrderConsentData
    Risk: dict[str, Any]


class StandingOrderData(_Strict):
    ConsentId: str = Field(min_length=1, max_length=128)
    Initiation: StandingOrderInitiationBody


class StandingOrderRequest(_Strict):
    Data: StandingOrderData
    Risk: dict[str, Any]
