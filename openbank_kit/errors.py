"""OBIE v4.0 error envelope (`OBErrorResponse1`) and the one place errors become HTTP responses.

v4.0 `OBError1.ErrorCode` is a 4-character `OBExternalStatusReason1Code` from OpenBankingUK's
External_Internal_CodeSets (`OB_Internal_CodeSet.csv`); the OpenAPI files only fix its length, so the
values are listed in `ErrorCode` below. Which code each error class carries by default:

| class                  | HTTP | ErrorCode | name in the codeset                    | default Path   |
|------------------------|------|-----------|----------------------------------------|----------------|
| BadRequest             | 400  | U010      | UK.OBIE.Resource.InvalidFormat          |                |
| FieldMissing           | 400  | U004      | UK.OBIE.Field.Missing                   | (the field)    |
| FieldInvalid           | 400  | U002      | UK.OBIE.Field.Invalid                   | (the field)    |
| Unauthorized           | 401  | U006      | UK.OBIE.Header.Invalid                  |                |
| Forbidden              | 403  | U009      | UK.OBIE.Resource.InvalidConsentStatus   |                |
| NotFound               | 404  | U011      | UK.OBIE.Resource.NotFound               |                |
| MethodNotAllowed       | 405  | U010      | UK.OBIE.Resource.InvalidFormat          |                |
| NotAcceptable          | 406  | U006      | UK.OBIE.Header.Invalid                  | Accept         |
| Conflict               | 409  | U029      | UK.OBIE.Rules.ResourceAlreadyExists     |                |
| UnsupportedMediaType   | 415  | U006      | UK.OBIE.Header.Invalid                  | Content-Type   |
| TooManyRequests        | 429  | U000      | UK.OBIE.UnexpectedError                 |                |
| InternalError          | 500  | U000      | UK.OBIE.UnexpectedError                 |                |
| ServiceUnavailable     | 503  | U000      | UK.OBIE.UnexpectedError                 |                |

The codeset has no code for 401/405/406/415/429; the nearest was taken (the token is sent in the
Authorization header, Accept/Content-Type are headers). Request validation maps pydantic's `missing` to
U004 (U007 for headers), `extra_forbidden` to U005, malformed JSON to U010, anything else to U002 (U006
for headers). Any class or raise site may pass another `error_code` (e.g. U023 for an unsupported currency).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from enum import StrEnum
from http import HTTPStatus
from typing import Any, NamedTuple

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openbank_kit.interaction import INTERACTION_HEADER, current_interaction_id, interaction_id_from_scope

logger = structlog.get_logger("openbank.errors")

# OBErrorResponse1 / OBError1 field bounds; anything longer would make the body fail the schema.
MAX_ID_CHARS = 40
MAX_CODE_CHARS = 40
MAX_MESSAGE_CHARS = 500
MAX_PATH_CHARS = 500
# Bound the body: a huge invalid payload must not produce a huge error response.
MAX_ERRORS_PER_RESPONSE = 20

ERROR_MEDIA_TYPE = "application/json; charset=utf-8"


class ErrorCode(StrEnum):
    """OBExternalStatusReason1Code values usable in error responses (OB_Internal_CodeSet)."""

    UNEXPECTED_ERROR = "U000"
    FIELD_EXPECTED = "U001"
    FIELD_INVALID = "U002"
    FIELD_INVALID_DATE = "U003"
    FIELD_MISSING = "U004"
    FIELD_UNEXPECTED = "U005"
    HEADER_INVALID = "U006"
    HEADER_MISSING = "U007"
    RESOURCE_CONSENT_MISMATCH = "U008"
    RESOURCE_INVALID_CONSENT_STATUS = "U009"
    RESOURCE_INVALID_FORMAT = "U010"
    RESOURCE_NOT_FOUND = "U011"
    RULES_AFTER_CUT_OFF_DATE_TIME = "U012"
    RULES_DUPLICATE_REFERENCE = "U013"
    RULES_FAILS_CONTROL_PARAMETERS = "U014"
    SIGNATURE_INVALID = "U015"
    SIGNATURE_INVALID_CLAIM = "U016"
    SIGNATURE_MISSING_CLAIM = "U017"
    SIGNATURE_MALFORMED = "U018"
    SIGNATURE_MISSING = "U019"
    SIGNATURE_UNEXPECTED = "U020"
    UNSUPPORTED_ACCOUNT_IDENTIFIER = "U021"
    UNSUPPORTED_ACCOUNT_SECONDARY_IDENTIFIER = "U022"
    UNSUPPORTED_CURRENCY = "U023"
    UNSUPPORTED_EVENT_TYPE = "U024"
    UNSUPPORTED_FREQUENCY = "U025"
    UNSUPPORTED_LOCAL_INSTRUMENT = "U026"
    UNSUPPORTED_SCHEME = "U027"
    REAUTHENTICATE = "U028"
    RULES_RESOURCE_ALREADY_EXISTS = "U029"


class ErrorDetail(NamedTuple):
    """One OBError1 entry; a plain (code, message, path) tuple is accepted wherever this is."""

    error_code: str
    message: str
    path: str | None = None
    url: str | None = None


class OBIEError(Exception):
    """A refusal that becomes an OBIE error response. Subclasses set the class-level defaults."""

    status_code: int = 400
    error_code: str = ErrorCode.RESOURCE_INVALID_FORMAT
    message: str = "The request is invalid"
    path: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        path: str | None = None,
        error_code: str | None = None,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        errors: Iterable[ErrorDetail | tuple[Any, ...]] = (),
    ) -> None:
        cls = type(self)
        self.message = message or cls.message
        self.error_code = str(error_code or cls.error_code)
        self.path = path if path is not None else cls.path
        self.url = url
        self.headers: dict[str, str] = dict(headers or {})
        self.errors: list[ErrorDetail] = [ErrorDetail(*error) for error in errors]
        super().__init__(self.message)

    def details(self) -> list[ErrorDetail]:
        """This error first, then the extra field errors."""
        return [ErrorDetail(self.error_code, self.message, self.path, self.url), *self.errors]


class BadRequest(OBIEError):
    pass


class FieldMissing(OBIEError):
    error_code = ErrorCode.FIELD_MISSING

    def __init__(self, path: str, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message or f"A required field is missing: {path}", path=path, **kwargs)


class FieldInvalid(OBIEError):
    error_code = ErrorCode.FIELD_INVALID

    def __init__(self, path: str, message: str, **kwargs: Any) -> None:
        super().__init__(message, path=path, **kwargs)


class Unauthorized(OBIEError):
    status_code = 401
    error_code = ErrorCode.HEADER_INVALID
    message = "A valid access token is required"


class Forbidden(OBIEError):
    status_code = 403
    error_code = ErrorCode.RESOURCE_INVALID_CONSENT_STATUS
    message = "The consent does not allow access to this resource"


class NotFound(OBIEError):
    status_code = 404
    error_code = ErrorCode.RESOURCE_NOT_FOUND
    message = "The resource does not exist"


class MethodNotAllowed(OBIEError):
    status_code = 405
    message = "The method is not allowed for this resource"


class NotAcceptable(OBIEError):
    status_code = 406
    error_code = ErrorCode.HEADER_INVALID
    message = "The requested representation (Accept header) is not available"
    path = "Accept"


class Conflict(OBIEError):
    status_code = 409
    error_code = ErrorCode.RULES_RESOURCE_ALREADY_EXISTS
    message = "The resource already exists or is in a state that does not allow this operation"


class UnsupportedMediaType(OBIEError):
    status_code = 415
    error_code = ErrorCode.HEADER_INVALID
    message = "The request Content-Type is not supported; send application/json"
    path = "Content-Type"


class TooManyRequests(OBIEError):
    status_code = 429
    error_code = ErrorCode.UNEXPECTED_ERROR
    message = "Too many requests"

    def __init__(self, retry_after_s: int, message: str | None = None, **kwargs: Any) -> None:
        if isinstance(retry_after_s, bool) or not isinstance(retry_after_s, int) or retry_after_s < 0:
            raise ValueError("retry_after_s must be a non-negative whole number of seconds")
        self.retry_after_s = retry_after_s
        headers = {**(kwargs.pop("headers", None) or {}), "Retry-After": str(retry_after_s)}
        super().__init__(
            message or f"Too many requests; retry after {retry_after_s} s", headers=headers, **kwargs
        )


class InternalError(OBIEError):
    status_code = 500
    error_code = ErrorCode.UNEXPECTED_ERROR
    message = "An unexpected error occurred; quote the Id when reporting it"


class ServiceUnavailable(OBIEError):
    status_code = 503
    error_code = ErrorCode.UNEXPECTED_ERROR
    message = "The service is temporarily unavailable; retry later"


_CLASS_BY_STATUS: dict[int, type[OBIEError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        UnsupportedMediaType,
        InternalError,
        ServiceUnavailable,
    )
}


def status_code_text(status_code: int) -> str:
    """OBIE's deprecated top-level Code: "400 BadRequest", "500 InternalServerError"."""
    try:
        reason = "".join(HTTPStatus(status_code).phrase.split())
    except ValueError:
        reason = "Error"
    return f"{status_code} {reason}"[:MAX_CODE_CHARS]


def error_body(
    status_code: int,
    details: Sequence[ErrorDetail],
    *,
    interaction_id: str | None,
    message: str | None = None,
) -> dict[str, Any]:
    """An OBErrorResponse1 dict, clipped to the schema's bounds."""
    errors = []
    for detail in details[:MAX_ERRORS_PER_RESPONSE]:
        entry: dict[str, str] = {
            "ErrorCode": str(detail.error_code),
            "Message": _clip(detail.message, MAX_MESSAGE_CHARS),
        }
        if detail.path:
            entry["Path"] = detail.path[:MAX_PATH_CHARS]
        if detail.url:
            entry["Url"] = detail.url
        errors.append(entry)
    if not errors:  # the schema wants at least one entry
        errors.append({"ErrorCode": ErrorCode.UNEXPECTED_ERROR.value, "Message": "Unknown error"})
    body: dict[str, Any] = {
        "Code": status_code_text(status_code),
        "Message": _clip(message or errors[0]["Message"], MAX_MESSAGE_CHARS),
        "Errors": errors,
    }
    # An echoed interaction id may be up to 100 chars; Id allows 40, so a longer one is left out.
    if interaction_id and len(interaction_id) <= MAX_ID_CHARS:
        body["Id"] = interaction_id
    return body


def _clip(text: str, limit: int) -> str:
    text = str(text).strip() or "Unknown error"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_response(
    status_code: int,
    details: Sequence[ErrorDetail],
    *,
    interaction_id: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    interaction_id = interaction_id or current_interaction_id() or str(uuid.uuid4())
    return JSONResponse(
        error_body(status_code, details, interaction_id=interaction_id, message=message),
        status_code=status_code,
        headers={**(headers or {}), INTERACTION_HEADER: interaction_id},
        media_type=ERROR_MEDIA_TYPE,
    )


def obie_error_response(exc: OBIEError, *, interaction_id: str | None = None) -> JSONResponse:
    return error_response(
        exc.status_code,
        exc.details(),
        interaction_id=interaction_id,
        message=exc.message,
        headers=exc.headers,
    )


def validation_details(problems: Sequence[Any]) -> list[ErrorDetail]:
    """One OBError1 per pydantic problem, with a JSON path like Data.Amount.Amount or Postings[0].Amount."""
    details = []
    for problem in problems[:MAX_ERRORS_PER_RESPONSE]:
        loc = tuple(problem.get("loc", ()))
        kind = problem.get("type", "")
        where = loc[0] if loc else "body"
        if kind == "json_invalid":
            # FastAPI puts the character offset in loc; it is not a field.
            reason = (problem.get("ctx") or {}).get("error", "invalid JSON")
            details.append(
                ErrorDetail(
                    ErrorCode.RESOURCE_INVALID_FORMAT, f"The request body is not valid JSON: {reason}"
                )
            )
            continue
        path = _json_path(loc[1:] if where in {"body", "query", "path", "header", "cookie"} else loc)
        if where == "header":
            code = ErrorCode.HEADER_MISSING if kind == "missing" else ErrorCode.HEADER_INVALID
        elif kind == "missing":
            code = ErrorCode.FIELD_MISSING
        elif kind == "extra_forbidden":
            code = ErrorCode.FIELD_UNEXPECTED
        else:
            code = ErrorCode.FIELD_INVALID
        details.append(ErrorDetail(code, str(problem.get("msg") or "Invalid value"), path))
    return details


def _json_path(parts: Sequence[Any]) -> str | None:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to an OBIE error body carrying x-fapi-interaction-id; never a 422 or a traceback."""

    async def on_obie_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OBIEError)
        if exc.status_code >= 500:
            logger.warning(
                "obie_server_error", status=exc.status_code, error_code=exc.error_code, message=exc.message
            )
        return obie_error_response(exc, interaction_id=_interaction_id(request))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = validation_details(list(exc.errors()))
        count = len(exc.errors())
        message = details[0].message if count == 1 else f"The request has {count} invalid fields"
        return error_response(400, details, interaction_id=_interaction_id(request), message=message)

    async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        cls = _CLASS_BY_STATUS.get(exc.status_code, InternalError if exc.status_code >= 500 else BadRequest)
        detail = exc.detail if isinstance(exc.detail, str) else None
        try:
            default_phrase = HTTPStatus(exc.status_code).phrase
        except ValueError:
            default_phrase = None
        if exc.status_code == 404 and detail in (None, default_phrase):
            detail = f"No resource at {request.method} {request.url.path}"
        elif detail == default_phrase:
            detail = None  # the class default says more than "Method Not Allowed"
        error = cls(detail, headers=dict(exc.headers or {}))  # keeps Allow on 405, WWW-Authenticate on 401
        error.status_code = exc.status_code  # e.g. 413 or 502 keep their own status
        return obie_error_response(error, interaction_id=_interaction_id(request))

    async def on_json_decode_error(request: Request, exc: Exception) -> JSONResponse:
        # A route that parses the body itself (await request.json()) and gets garbage.
        error = BadRequest("The request body is not valid JSON")
        return obie_error_response(error, interaction_id=_interaction_id(request))

    async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Runs in ServerErrorMiddleware, outside user middleware: the interaction middleware has already
        # unwound, so the id comes from the scope and the header is set here.
        interaction_id = _interaction_id(request)
        logger.error(
            "unhandled_exception",
            method=request.method,
            path=request.url.path,
            interaction_id=interaction_id,
            exc_info=exc,
        )
        return obie_error_response(InternalError(), interaction_id=interaction_id)

    app.add_exception_handler(OBIEError, on_obie_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(json.JSONDecodeError, on_json_decode_error)
    app.add_exception_handler(Exception, on_unexpected_error)


def _interaction_id(request: Request) -> str:
    return current_interaction_id() or interaction_id_from_scope(request.scope) or str(uuid.uuid4())
