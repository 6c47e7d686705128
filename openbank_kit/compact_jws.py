"""Compact JWS for the two tokens checked on every call: the gateway's access tokens (ES256) and its caller
assertions to the services (HS256).

joserfc does the general case (and everything else here: ID tokens, DPoP proofs, client assertions, SETs); for
these two, whose headers we write ourselves, its generic header and key-set handling cost three times the
signature's own work (callgrind: 20% of the gateway's CPU per call). The cryptography is `cryptography`'s and the
standard library's; tests check that these tokens and joserfc's agree both ways.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

MAX_TOKEN_CHARS = 8192  # what a header can carry; a larger "token" is refused before any work
_ES256 = ec.ECDSA(hashes.SHA256())


class InvalidJWS(ValueError):
    """Not a compact JWS this code accepts; the message says why."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidJWS("not base64url") from exc


def parts(token: str) -> tuple[dict, bytes, bytes, bytes]:
    """(header, payload bytes, signing input, signature) of a compact JWS; raises InvalidJWS."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise InvalidJWS("not a compact JWS")
    header_b64, payload_b64, signature_b64 = token.split(".")
    try:
        header = orjson.loads(b64url_decode(header_b64))
    except orjson.JSONDecodeError as exc:
        raise InvalidJWS("header is not JSON") from exc
    if not isinstance(header, dict):
        raise InvalidJWS("header is not a JSON object")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return header, b64url_decode(payload_b64), signing_input, b64url_decode(signature_b64)


def claims_of(payload: bytes) -> dict:
    try:
        claims = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidJWS("payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise InvalidJWS("payload is not a JSON object")
    return claims


def es256_signature_valid(
    public_key: ec.EllipticCurvePublicKey, signing_input: bytes, signature: bytes
) -> bool:
    """RFC 7518 §3.4: the signature is R || S, 32 bytes each, on P-256."""
    if len(signature) != 64 or not isinstance(public_key.curve, ec.SECP256R1):
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        public_key.verify(utils.encode_dss_signature(r, s), signing_input, _ES256)
    except InvalidSignature:
        return False
    return True


def hs256_sign(key: bytes, header: dict, claims: dict) -> str:
    signing_input = (
        f"{b64url_encode(orjson.dumps({**header, 'alg': 'HS256'}))}.{b64url_encode(orjson.dumps(claims))}"
    )
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(signature)}"


def hs256_verify(key: bytes, token: str) -> tuple[dict, dict]:
    """(header, claims) of a token signed with `key`; raises InvalidJWS (other algorithms included)."""
    header, payload, signing_input, signature = parts(token)
    if header.get("alg") != "HS256":
        raise InvalidJWS("algorithm not allowed")
    if not hmac.compare_digest(hmac.new(key, signing_input, hashlib.sha256).digest(), signature):
        raise InvalidJWS("signature not valid")
    return header, claims_of(payload)
