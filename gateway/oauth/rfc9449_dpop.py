"""RFC 9449 DPoP proof verification, with the FAPI 2.0 Security Profile limits.

Authlib has no DPoP support (authlib issue #315), so this module follows its style: names from the spec and
errors that are ``OAuth2Error`` subclasses carrying their ``error`` code. The token endpoint returns these
errors as HTTP 400. A resource server returns them as 401 with ``WWW-Authenticate: DPoP error=...``.

Checks follow RFC 9449 §4.3. The ``jti`` is recorded last, so a proof that fails any other check can still
be corrected and sent again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from authlib.oauth2.base import OAuth2Error
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import JWKRegistry
from joserfc.jws import JWSRegistry

from gateway.oauth.replay_cache import ReplayCache

__all__ = [
    "DEFAULT_FUTURE_LEEWAY_S",
    "DEFAULT_IAT_WINDOW_S",
    "DEFAULT_MAX_PROOF_BYTES",
    "DPOP_SIGNING_ALGS",
    "DPoPProof",
    "DPoPVerifier",
    "InvalidDPoPProofError",
    "UseDPoPNonceError",
    "access_token_hash",
    "jwk_thumbprint",
    "normalize_htu",
]

#: Published in discovery as ``dpop_signing_alg_values_supported``. FAPI 2.0 §5.4.1 allows only these.
DPOP_SIGNING_ALGS: tuple[str, ...] = ("ES256", "PS256", "EdDSA")
DPOP_JWT_TYP = "dpop+jwt"

#: Oldest accepted ``iat``, in seconds before now.
DEFAULT_IAT_WINDOW_S = 60
#: Clock skew allowed for ``iat`` ahead of the server clock (FAPI 2.0 §5.3.2.1-13: 10 s).
DEFAULT_FUTURE_LEEWAY_S = 10
#: FAPI 2.0 §5.3.2.1-13: values more than 60 s in the future must be rejected, so leeway can never exceed it.
MAX_FUTURE_LEEWAY_S = 60
#: A DPoP header value is a small JWS; an RSA-4096 proof is about 2.3 kB.
DEFAULT_MAX_PROOF_BYTES = 4096
MAX_JTI_LENGTH = 256
#: FAPI 2.0 §5.4.1: RSA keys of at least 2048 bits.
MIN_RSA_KEY_BITS = 2048

# Key type and curve each algorithm requires (RFC 7518 §3.4, RFC 8037 §3.1).
_ALG_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
# RFC 7517/7518/8037 private and symmetric members; a DPoP jwk must be a public key only (RFC 9449 §4.3 #7).
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2: the required members of each key type, which alone make up the thumbprint input.
_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}
_B64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class InvalidDPoPProofError(OAuth2Error):
    """RFC 9449 §5/§7.1: the DPoP proof is missing or fails a check. 400 here; resource servers map it to 401."""

    error = "invalid_dpop_proof"
    status_code = 400

    def __init__(self, description: str, **kwargs: Any):
        super().__init__(description=description, **kwargs)


class UseDPoPNonceError(InvalidDPoPProofError):
    """RFC 9449 §8/§9: the proof must carry the server-provided nonce, sent back in ``DPoP-Nonce``."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str, **kwargs: Any):
        super().__init__(description, **kwargs)
        self.nonce = nonce

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("DPoP-Nonce", self.nonce)]


@dataclass(frozen=True)
class DPoPProof:
    """A verified DPoP proof. ``jkt`` is what tokens and codes are bound to (``cnf.jkt``, ``dpop_jkt``)."""

    jkt: str
    jwk: dict[str, Any]
    jti: str
    htm: str
    htu: str
    iat: int
    ath: str | None
    nonce: str | None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def normalize_htu(url: str) -> str:
    """Normalise an HTTP URI for the ``htu`` comparison (RFC 9449 §4.3 #9, RFC 3986 §6.2.2 and §6.2.3).

    Scheme and host are lower-cased, the default port is removed, an empty path becomes ``/``, percent-encoded
    unreserved characters are decoded, and the query and fragment are dropped. Raise ValueError when ``url``
    is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("htu must be an http or https URL")
    host = parts.hostname  # lower-cased, without userinfo or port
    if not host:
        raise ValueError("htu must have a host")
    port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    if ":" in host:  # an IPv6 literal loses its brackets in urlsplit
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _PERCENT_ENCODED.sub(_normalize_percent_encoding, parts.path) or "/"
    return urlunsplit((scheme, netloc, path, "", ""))


def _normalize_percent_encoding(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK SHA-256 thumbprint, base64url without padding."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty"))  # type: ignore[arg-type]
    if members is None:
        raise ValueError("unsupported kty for a JWK thumbprint")
    if not all(isinstance(jwk.get(name), str) for name in members):
        raise ValueError("JWK is missing a required member")
    # Members in lexicographic order, no whitespace (RFC 7638 §3.3).
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(access_token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url(SHA-256(ASCII access token)), no padding."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def _ath_matches(ath: str, access_token: str) -> bool:
    try:
        expected = access_token_hash(access_token)
    except UnicodeEncodeError:  # RFC 6750 tokens are ASCII; anything else cannot match
        return False
    return hmac.compare_digest(ath.encode("utf-8"), expected.encode("ascii"))


class _DPoPJWSRegistry(JWSRegistry):
    """Allows exactly one algorithm, already checked against DPOP_SIGNING_ALGS.

    joserfc warns that ``EdDSA`` is deprecated by RFC 9864. RFC 9449 and FAPI 2.0 still name it, and the key
    check restricts it to Ed25519, so skip that warning (``warnings.catch_warnings`` is not thread-safe).
    """

    def __init__(self, alg: str, max_bytes: int):
        # Lenient about unregistered header names: extra header fields must be ignored (conformance suite).
        super().__init__(algorithms=[alg], strict_check_header=False)
        self.max_header_length = max_bytes
        self.max_payload_length = max_bytes
        self.max_signature_length = max_bytes

    def get_alg(self, name: str):  # type: ignore[no-untyped-def]
        if not self.allowed or name not in self.allowed or name not in self.algorithms:
            raise JoseError(f"algorithm not allowed: {name}")
        return self.algorithms[name]


def _reject_duplicate_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2: duplicate header names must be rejected (or use the last); refuse them outright.
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError("duplicate member")
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _decode_json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_members,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class DPoPVerifier:
    """Verify DPoP proofs at the token endpoint, PAR endpoint and resource servers.

    :param replay_cache: one-time-use store for ``jkt:jti``
    :param iat_window_s: oldest accepted ``iat``, in seconds before now
    :param future_leeway_s: newest accepted ``iat``, in seconds after now (at most 60)
    :param clock: wall clock in seconds since the epoch, injectable for tests
    :param nonce_provider: returns the current server nonce; when set, every proof must carry it
    :param max_proof_bytes: largest DPoP header value accepted
    """

    def __init__(
        self,
        replay_cache: ReplayCache,
        *,
        iat_window_s: int = DEFAULT_IAT_WINDOW_S,
        future_leeway_s: int = DEFAULT_FUTURE_LEEWAY_S,
        clock: Callable[[], float] = time.time,
        nonce_provider: Callable[[], str] | None = None,
        max_proof_bytes: int = DEFAULT_MAX_PROOF_BYTES,
    ):
        if iat_window_s <= 0:
            raise ValueError("iat_window_s must be positive")
        if not 0 <= future_leeway_s <= MAX_FUTURE_LEEWAY_S:
            raise ValueError(f"future_leeway_s must be between 0 and {MAX_FUTURE_LEEWAY_S}")
        if max_proof_bytes <= 0:
            raise ValueError("max_proof_bytes must be positive")
        self.replay_cache = replay_cache
        self.iat_window_s = iat_window_s
        self.future_leeway_s = future_leeway_s
        self.clock = clock
        self.nonce_provider = nonce_provider
        self.max_proof_bytes = max_proof_bytes

    @property
    def replay_ttl_s(self) -> int:
        # A proof's iat is acceptable for at most window + leeway seconds of server time.
        return self.iat_window_s + self.future_leeway_s

    def verify(
        self,
        proof_values: Sequence[str],
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        expected_jkt: str | None = None,
    ) -> DPoPProof:
        """Verify the request's DPoP header values and return the proof.

        :param proof_values: every value of the ``DPoP`` header, whatever the case of its name
        :param method: the request method, e.g. ``request.method``
        :param url: the URL the client used (the external one when behind a proxy)
        :param access_token: the access token sent with the request; when given, ``ath`` is required
        :param expected_jkt: the bound key thumbprint (token ``cnf.jkt``, or ``dpop_jkt`` from PAR or the code)
        :raises InvalidDPoPProofError: for any failed check; UseDPoPNonceError when a nonce is required
        """
        proof = self._single_proof(proof_values)
        header, payload = self._split_compact(proof)
        jwk = self._check_header(header)
        jkt = self._check_signature(proof, header["alg"], jwk)
        claims = self._check_claims(payload, method=method, url=url, access_token=access_token)
        if expected_jkt is not None and not hmac.compare_digest(jkt.encode(), expected_jkt.encode("utf-8")):
            raise InvalidDPoPProofError("DPoP key does not match the bound key")
        self._check_nonce(claims.get("nonce"))
        # Last, so that a proof rejected above does not burn its jti (RFC 9449 §11.1).
        if not self.replay_cache.first_use(f"{jkt}:{claims['jti']}", ttl_s=self.replay_ttl_s):
            raise InvalidDPoPProofError("DPoP proof replayed: jti already used")
        return DPoPProof(
            jkt=jkt,
            jwk=dict(jwk),
            jti=claims["jti"],
            htm=claims["htm"],
            htu=claims["htu"],
            iat=int(claims["iat"]),
            ath=claims.get("ath"),
            nonce=claims.get("nonce"),
        )

    def _single_proof(self, proof_values: Sequence[str]) -> str:
        if isinstance(proof_values, str):  # a bare header value, not a list of them
            proof_values = [proof_values]
        values = [value.strip() for value in proof_values]
        # A comma never occurs in a compact JWS: it means a proxy folded two DPoP headers into one.
        if len(values) > 1 or (values and "," in values[0]):
            raise InvalidDPoPProofError("more than one DPoP header")
        if not values or not values[0]:
            raise InvalidDPoPProofError("missing DPoP proof")
        proof = values[0]
        if len(proof.encode("utf-8")) > self.max_proof_bytes:
            raise InvalidDPoPProofError(f"DPoP proof exceeds {self.max_proof_bytes} bytes")
        return proof

    def _split_compact(self, proof: str) -> tuple[dict[str, Any], bytes]:
        parts = proof.split(".")
        if len(parts) != 3:
            raise InvalidDPoPProofError("DPoP proof is not a JWT: expected a compact JWS with 3 parts")
        header_b64, payload_b64, _signature_b64 = parts
        # An empty signature is left to the alg and signature checks, which report it more precisely.
        if not all(_B64URL_SEGMENT.fullmatch(part) for part in parts):
            raise InvalidDPoPProofError("DPoP proof is not a JWT: parts must be base64url")
        try:
            header_bytes = _b64url_decode(header_b64)
            payload = _b64url_decode(payload_b64)
        except ValueError:
            raise InvalidDPoPProofError("DPoP proof is not a JWT: invalid base64url") from None
        header = _decode_json_object(header_bytes)
        if header is None:
            raise InvalidDPoPProofError("DPoP proof is not a JWT: header is not a JSON object")
        return header, payload

    def _check_header(self, header: dict[str, Any]) -> dict[str, Any]:
        if "typ" not in header:
            raise InvalidDPoPProofError("missing 'typ' header: must be 'dpop+jwt'")
        if header["typ"] != DPOP_JWT_TYP:
            raise InvalidDPoPProofError("invalid 'typ' header: must be 'dpop+jwt'")
        if "alg" not in header:
            raise InvalidDPoPProofError("missing 'alg' header")
        alg = header["alg"]
        if not isinstance(alg, str) or alg not in DPOP_SIGNING_ALGS:
            raise InvalidDPoPProofError(f"unsupported 'alg': must be one of {', '.join(DPOP_SIGNING_ALGS)}")
        # We understand no JWS extensions; b64=false would also make the payload something other than a JWT.
        if "crit" in header or "b64" in header:
            raise InvalidDPoPProofError("unsupported 'crit' or 'b64' header")
        if "jwk" not in header:
            raise InvalidDPoPProofError("missing 'jwk' header")
        jwk = header["jwk"]
        if not isinstance(jwk, dict):
            raise InvalidDPoPProofError("invalid 'jwk' header: must be a JSON object")
        if jwk.get("kty") == "oct" or _PRIVATE_JWK_MEMBERS.intersection(jwk):
            raise InvalidDPoPProofError(
                "invalid 'jwk' header: must be a public key, private key material found"
            )
        self._check_key_fits_alg(alg, jwk)
        return jwk

    def _check_key_fits_alg(self, alg: str, jwk: dict[str, Any]) -> None:
        kty, crv = _ALG_KEY_TYPES[alg]
        if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
            expected = f"{kty} {crv}" if crv else kty
            raise InvalidDPoPProofError(f"invalid 'jwk' header: '{alg}' requires an {expected} key")
        if kty == "RSA":
            n = jwk.get("n")
            try:
                bits = int.from_bytes(_b64url_decode(n), "big").bit_length() if isinstance(n, str) else 0
            except ValueError:
                bits = 0
            if bits < MIN_RSA_KEY_BITS:
                raise InvalidDPoPProofError(
                    f"invalid 'jwk' header: RSA key must be at least {MIN_RSA_KEY_BITS} bits"
                )

    def _check_signature(self, proof: str, alg: str, jwk: dict[str, Any]) -> str:
        """Verify the signature with the header's own key and return that key's thumbprint."""
        try:
            key = JWKRegistry.import_key(jwk)
            jkt = jwk_thumbprint(jwk)
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidDPoPProofError("invalid 'jwk' header: not a valid public key") from None
        registry = _DPoPJWSRegistry(alg, self.max_proof_bytes)
        try:
            jws.deserialize_compact(proof, key, registry=registry)
        except BadSignatureError:
            raise InvalidDPoPProofError("invalid DPoP proof signature") from None
        except (JoseError, ValueError, TypeError):
            # Malformed header values (e.g. a non-string 'kid') or a key the algorithm cannot use.
            raise InvalidDPoPProofError("invalid DPoP proof: signature could not be verified") from None
        return jkt

    def _check_claims(
        self, payload: bytes, *, method: str, url: str, access_token: str | None
    ) -> dict[str, Any]:
        claims = _decode_json_object(payload)
        if claims is None:
            raise InvalidDPoPProofError("DPoP proof is not a JWT: payload is not a JSON object")
        for name in ("jti", "htm", "htu", "iat"):
            if name not in claims:
                raise InvalidDPoPProofError(f"missing '{name}' claim")

        jti = claims["jti"]
        if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
            raise InvalidDPoPProofError(
                f"invalid 'jti' claim: must be a string of 1 to {MAX_JTI_LENGTH} characters"
            )

        # Methods are case-sensitive (RFC 9110 §9.1), so no case folding.
        if claims["htm"] != method:
            raise InvalidDPoPProofError("'htm' claim does not match the request method")

        htu = claims["htu"]
        if not isinstance(htu, str):
            raise InvalidDPoPProofError("invalid 'htu' claim: must be a string")
        try:
            htu_matches = normalize_htu(htu) == normalize_htu(url)
        except ValueError:
            raise InvalidDPoPProofError("invalid 'htu' claim: not an absolute http(s) URL") from None
        if not htu_matches:
            raise InvalidDPoPProofError("'htu' claim does not match the request URL")

        iat = claims["iat"]
        if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
            raise InvalidDPoPProofError("invalid 'iat' claim: must be a number")
        now = self.clock()
        if iat < now - self.iat_window_s:
            raise InvalidDPoPProofError(f"'iat' claim is more than {self.iat_window_s} s in the past")
        if iat > now + self.future_leeway_s:
            raise InvalidDPoPProofError(f"'iat' claim is more than {self.future_leeway_s} s in the future")

        ath = claims.get("ath")
        if access_token is not None:
            # RFC 9449 §4.3 #12 / §7: a proof sent with an access token must be bound to it.
            if ath is None:
                raise InvalidDPoPProofError("missing 'ath' claim: required with an access token")
            if not isinstance(ath, str) or not _ath_matches(ath, access_token):
                raise InvalidDPoPProofError("'ath' claim does not match the access token")
        elif ath is not None and not isinstance(ath, str):
            raise InvalidDPoPProofError("invalid 'ath' claim: must be a string")

        nonce = claims.get("nonce")
        if nonce is not None and not isinstance(nonce, str):
            raise InvalidDPoPProofError("invalid 'nonce' claim: must be a string")
        return claims

    def _check_nonce(self, nonce: str | None) -> None:
        if self.nonce_provider is None:
            return
        current = self.nonce_provider()
        if nonce is None:
            raise UseDPoPNonceError("DPoP proof must include the server-provided 'nonce'", nonce=current)
        if not hmac.compare_digest(nonce.encode("utf-8"), current.encode("utf-8")):
            raise UseDPoPNonceError("DPoP proof 'nonce' is invalid or stale", nonce=current)
