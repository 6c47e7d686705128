"""The OBIE error classes and the bodies they become (no HTTP here; see test_error_handlers.py)."""

from __future__ import annotations

import pytest

from openbank_kit import errors
from openbank_kit.errors import (
    BadRequest,
    Conflict,
    ErrorCode,
    FieldInvalid,
    FieldMissing,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    OBIEError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    error_body,
    status_code_text,
    validation_details,
)

EXPECTED = [
    (BadRequest(), 400, "U010", "400 BadRequest"),
    (FieldMissing("Data.ConsentId"), 400, "U004", "400 BadRequest"),
    (FieldInvalid("Data.Amount.Amount", "bad"), 400, "U002", "400 BadRequest"),
    (Unauthorized(), 401, "U006", "401 Unauthorized"),
    (Forbidden(), 403, "U009", "403 Forbidden"),
    (NotFound(), 404, "U011", "404 NotFound"),
    (MethodNotAllowed(), 405, "U010", "405 MethodNotAllowed"),
    (NotAcceptable(), 406, "U006", "406 NotAcceptable"),
    (Conflict(), 409, "U029", "409 Conflict"),
    (UnsupportedMediaType(), 415, "U006", "415 UnsupportedMediaType"),
    (TooManyRequests(3), 429, "U000", "429 TooManyRequests"),
    (InternalError(), 500, "U000", "500 InternalServerError"),
    (ServiceUnavailable(), 503, "U000", "503 ServiceUnavailable"),
]


@pytest.mark.parametrize(("error", "status", "code", "code_text"), EXPECTED, ids=lambda v: type(v).__name__)
def test_each_error_class_has_its_status_code_and_a_valid_body(
    error: OBIEError, status: int, code: str, code_text: str, validate_obie_error
) -> None:
    assert error.status_code == status
    assert error.error_code == code
    assert error.error_code in {member.value for member in ErrorCode}
    body = error_body(
        error.status_code, error.details(), interaction_id="1f0c7a1e-6a39-4f3e-9c55-0b9d2d1b1e11"
    )
    validate_obie_error(body)
    assert body["Code"] == code_text
    assert body["Id"] == "1f0c7a1e-6a39-4f3e-9c55-0b9d2d1b1e11"
    assert body["Errors"][0]["ErrorCode"] == code


def test_field_errors_carry_their_json_path() -> None:
    missing = FieldMissing("Data.Purpose")
    assert missing.path == "Data.Purpose"
    assert "Data.Purpose" in missing.message
    entry = error_body(400, missing.details(), interaction_id=None)["Errors"][0]
    assert entry == {"ErrorCode": "U004", "Message": missing.message, "Path": "Data.Purpose"}


def test_header_errors_name_the_header_in_path() -> None:
    assert NotAcceptable().path == "Accept"
    assert UnsupportedMediaType().path == "Content-Type"


def test_keyword_message_and_path_and_code_override_defaults() -> None:
    error = BadRequest(message="key reused", path="x-idempotency-key", error_code=ErrorCode.HEADER_INVALID)
    assert (error.message, error.path, error.error_code) == ("key reused", "x-idempotency-key", "U006")
    assert str(error) == "key reused"


def test_subclasses_can_change_the_default_error_code() -> None:
    class OverControlLimit(BadRequest):
        error_code = ErrorCode.RULES_FAILS_CONTROL_PARAMETERS

    assert OverControlLimit("over the Class III limit").error_code == "U014"


def test_too_many_requests_sets_retry_after() -> None:
    error = TooManyRequests(7)
    assert error.headers["Retry-After"] == "7"
    assert error.retry_after_s == 7
    with pytest.raises(ValueError):
        TooManyRequests(-1)
    with pytest.raises(ValueError):
        TooManyRequests(1.5)  # type: ignore[arg-type]


def test_multi_field_errors_list_every_problem(validate_obie_error) -> None:
    error = FieldInvalid(
        "Data.Permissions",
        "ReadTransactionsDetail needs ReadTransactionsCredits or ReadTransactionsDebits",
        errors=[("U004", "ExpirationDateTime is required", "Data.ExpirationDateTime")],
    )
    body = error_body(400, error.details(), interaction_id="abc")
    validate_obie_error(body)
    assert [entry["Path"] for entry in body["Errors"]] == ["Data.Permissions", "Data.ExpirationDateTime"]


def test_body_is_clipped_to_schema_bounds(validate_obie_error) -> None:
    error = FieldInvalid("Data." + "x" * 600, "y" * 900)
    body = error_body(400, error.details(), interaction_id="i" * 100)
    validate_obie_error(body)
    assert "Id" not in body  # an echoed 100-char interaction id does not fit Id (max 40)
    assert len(body["Errors"][0]["Message"]) == 500


def test_body_has_at_most_a_bounded_number_of_errors(validate_obie_error) -> None:
    details = [errors.ErrorDetail("U002", f"bad {n}", f"Data.Items[{n}]") for n in range(100)]
    body = error_body(400, details, interaction_id="abc")
    validate_obie_error(body)
    assert len(body["Errors"]) == errors.MAX_ERRORS_PER_RESPONSE


def test_status_code_text_for_statuses_without_a_class() -> None:
    assert status_code_text(413).startswith("413 ")
    assert " " not in status_code_text(413).split(" ", 1)[1]
    assert status_code_text(599) == "599 Error"


def test_validation_details_turn_pydantic_locations_into_json_paths() -> None:
    problems = [
        {"type": "missing", "loc": ("body", "Data", "Amount", "Amount"), "msg": "Field required"},
        {
            "type": "string_type",
            "loc": ("body", "Postings", 0, "AccountId"),
            "msg": "Input should be a string",
        },
        {"type": "missing", "loc": ("header", "x-idempotency-key"), "msg": "Field required"},
        {"type": "int_parsing", "loc": ("query", "limit"), "msg": "Input should be a valid integer"},
        {
            "type": "extra_forbidden",
            "loc": ("body", "Data", "Extra"),
            "msg": "Extra inputs are not permitted",
        },
        {
            "type": "json_invalid",
            "loc": ("body", 17),
            "msg": "JSON decode error",
            "ctx": {"error": "Expecting value"},
        },
        {"type": "missing", "loc": ("body",), "msg": "Field required"},
    ]
    details = validation_details(problems)
    assert [(d.error_code, d.path) for d in details] == [
        ("U004", "Data.Amount.Amount"),
        ("U002", "Postings[0].AccountId"),
        ("U007", "x-idempotency-key"),
        ("U002", "limit"),
        ("U005", "Data.Extra"),
        ("U010", None),
        ("U004", None),
    ]
