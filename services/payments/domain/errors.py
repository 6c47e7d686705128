"""Payments' domain errors, each carrying its OBIE error code and HTTP status."""

from __future__ import annotations

from openbank_kit.errors import BadRequest, ErrorCode, Forbidden


class ConsentNotUsable(Forbidden):
    """The consent is not the caller's, not authorised, consumed or expired."""


class PaymentMismatch(BadRequest):
    """The payment's Initiation or Risk is not the consent's."""

    error_code = ErrorCode.RESOURCE_CONSENT_MISMATCH


class UnsupportedScheme(BadRequest):
    error_code = ErrorCode.UNSUPPORTED_SCHEME
