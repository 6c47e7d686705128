"""Lending's domain errors, each carrying its OBIE error code and HTTP status."""

from __future__ import annotations

from openbank_kit.errors import BadRequest, Conflict, ErrorCode, Forbidden


class ConsentNotUsable(Forbidden):
    """The consent is not the caller's, not authorised, consumed or expired."""


class OfferNotAcceptable(Conflict):
    error_code = ErrorCode.RULES_FAILS_CONTROL_PARAMETERS


class RepaymentRefused(BadRequest):
    error_code = ErrorCode.RULES_FAILS_CONTROL_PARAMETERS
