"""DPoP proof verification (RFC 9449), mirroring the FAPI 2.0 conformance ``dpop-negative-tests`` sub-cases."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
import warnings
from typing import Any

import pytest
from authlib.oauth2.base import OAuth2Error
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from gateway.oauth.replay_cache import (
    MemoryReplayCache,
    RedisReplayCache,
    ReplayCache,
    replay_cache_from_url,
)
from gateway.oauth.rfc9449_dpop import (
    DPOP_SIGNING_ALGS,
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProofError,
    UseDPoPNonceError,
    access_token_hash,
    jwk_thumbprint,
    normalize_htu,
)

NOW = 1_700_000_000
URL = "https://api.bank.example/accounts/v1/accounts"
METHOD = "GET"
ACCESS_TOKEN = "at-" + "x" * 40
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
DROP = object()  # marks a header field or claim to leave out


# --- helpers -----------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class SpyCache:
    """Records every first_use call, so tests can see whether a proof burned its jti."""

    def __init__(self) -> None:
        self.inner = MemoryReplayCache()
        self.calls: list[str] = []

    def first_use(self, key: str, ttl_s: int) -> bool:
        self.calls.append(key)
        return self.inner.first_use(key, ttl_s)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


def apply(base: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def make_proof(
    key: Any,
    alg: str = "ES256",
    *,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    sign_key: Any = None,
    iat: float = NOW,
) -> str:
    """A DPoP proof for METHOD URL, signed by ``sign_key`` (default ``key``) with ``key``'s public jwk."""
    protected = apply({"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}, header)
    payload = apply({"jti": secrets.token_urlsafe(16), "htm": METHOD, "htu": URL, "iat": iat}, claims)
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    with warnings.catch_warnings():  # joserfc flags EdDSA as deprecated by RFC 9864
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(
            protected, json.dumps(payload).encode(), sign_key or key, registry=registry
        )


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return f"{b64json(header)}.{b64json(claims)}.{signature}"


def default_claims(**overrides: Any) -> dict[str, Any]:
    return apply({"jti": secrets.token_urlsafe(16), "htm": METHOD, "htu": URL, "iat": NOW}, overrides)


def rejected(
    verifier: DPoPVerifier, proof_values: Any, *fragments: str, **kwargs: Any
) -> InvalidDPoPProofError:
    """Assert the proof is rejected and the description names the failed check."""
    kwargs.setdefault("method", METHOD)
    kwargs.setdefault("url", URL)
    with pytest.raises(InvalidDPoPProofError) as info:
        verifier.verify(proof_values, **kwargs)
    for fragment in fragments:
        assert fragment in info.value.description, info.value.description
    return info.value


def ok(verifier: DPoPVerifier, proof: str, **kwargs: Any) -> DPoPProof:
    kwargs.setdefault("method", METHOD)
    kwargs.setdefault("url", URL)
    return verifier.verify([proof], **kwargs)


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048)


@pytest.fixture(scope="module")
def ed_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


@pytest.fixture
def cache() -> SpyCache:
    return SpyCache()


@pytest.fixture
def verifier(cache: SpyCache) -> DPoPVerifier:
    return DPoPVerifier(cache, clock=lambda: NOW)


# --- positive cases ------------------------------------------------------------------------------------------


def test_es256_proof_verifies(verifier, ec_key):
    proof = make_proof(ec_key, "ES256", claims={"jti": "jti-es256"})
    result = ok(verifier, proof)
    assert result == DPoPProof(
        jkt=ec_key.thumbprint(),
        jwk=ec_key.as_dict(private=False),
        jti="jti-es256",
        htm=METHOD,
        htu=URL,
        iat=NOW,
        ath=None,
        nonce=None,
    )


def test_ps256_proof_verifies(verifier, rsa_key):
    assert ok(verifier, make_proof(rsa_key, "PS256")).jkt == rsa_key.thumbprint()


def test_eddsa_proof_verifies(verifier, ed_key):
    assert ok(verifier, make_proof(ed_key, "EdDSA")).jkt == ed_key.thumbprint()


def test_signing_algs_are_fapi_only():
    assert DPOP_SIGNING_ALGS == ("ES256", "PS256", "EdDSA")


def test_iat_9_seconds_in_future_accepted(verifier, ec_key):
    ok(verifier, make_proof(ec_key, iat=NOW + 9))


def test_iat_10_seconds_after_accepted(verifier, ec_key):
    # conformance: ensure-dpopproof-with-iat-10seconds-after-succeeds
    ok(verifier, make_proof(ec_key, iat=NOW + 10))


def test_iat_10_seconds_before_accepted(verifier, ec_key):
    # conformance: ensure-dpopproof-with-iat-10seconds-before-succeeds
    ok(verifier, make_proof(ec_key, iat=NOW - 10))


def test_iat_50_seconds_in_past_accepted(verifier, ec_key):
    ok(verifier, make_proof(ec_key, iat=NOW - 50))


def test_iat_float_accepted_and_truncated(verifier, ec_key):
    assert ok(verifier, make_proof(ec_key, iat=NOW + 0.75)).iat == NOW


def test_htu_with_query_and_fragment_matches(verifier, ec_key):
    ok(verifier, make_proof(ec_key, claims={"htu": URL + "?page=2#top"}))


def test_htu_without_query_matches_request_with_query(verifier, ec_key):
    ok(verifier, make_proof(ec_key), url=URL + "?page=2")


def test_htu_upper_case_host_and_default_port_match(verifier, ec_key):
    ok(verifier, make_proof(ec_key, claims={"htu": "HTTPS://API.Bank.EXAMPLE:443/accounts/v1/accounts"}))
    ok(verifier, make_proof(ec_key), url="https://api.bank.example:443/accounts/v1/accounts?x=1")


def test_extra_header_fields_and_claims_ignored(verifier, ec_key):
    proof = make_proof(ec_key, header={"kid": "k1", "x-extra": 1}, claims={"extra": {"a": [1, 2]}})
    ok(verifier, proof)


def test_ath_correct_with_access_token(verifier, ec_key):
    proof = make_proof(ec_key, claims={"ath": access_token_hash(ACCESS_TOKEN)})
    assert ok(verifier, proof, access_token=ACCESS_TOKEN).ath == access_token_hash(ACCESS_TOKEN)


def test_ath_ignored_without_access_token(verifier, ec_key):
    ok(verifier, make_proof(ec_key, claims={"ath": "not-checked-at-the-token-endpoint"}))


def test_expected_jkt_matches(verifier, ec_key):
    ok(verifier, make_proof(ec_key), expected_jkt=ec_key.thumbprint())


def test_bare_string_header_value_accepted(verifier, ec_key):
    assert verifier.verify(make_proof(ec_key), method=METHOD, url=URL).jkt == ec_key.thumbprint()


def test_access_token_hash_rfc9449_example():
    # RFC 9449 §7.1 example access token and its ath.
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    assert access_token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_jwk_thumbprint_rfc7638_example():
    # RFC 7638 §3.1 example key and thumbprint.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("key_name", ["ec_key", "rsa_key", "ed_key"])
def test_jwk_thumbprint_matches_joserfc(request, key_name):
    key = request.getfixturevalue(key_name)
    assert jwk_thumbprint(key.as_dict(private=False)) == key.thumbprint()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.bank.example/a?b=c#d", "https://api.bank.example/a"),
        ("HTTPS://API.BANK.EXAMPLE:443/a", "https://api.bank.example/a"),
        ("http://Example.COM:80", "http://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/%7euser/%2f", "https://example.com/~user/%2F"),
        ("https://[::1]:443/x", "https://[::1]/x"),
    ],
)
def test_normalize_htu(url, expected):
    assert normalize_htu(url) == expected


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "/relative/path", "https:///no-host", "https://h:99999/"]
)
def test_normalize_htu_rejects_non_http_urls(url):
    with pytest.raises(ValueError):
        normalize_htu(url)


# --- negative cases: the DPoP header -----------------------------------------------------------------------


def test_missing_proof_rejected(verifier):
    rejected(verifier, [], "missing DPoP proof")
    rejected(verifier, [""], "missing DPoP proof")


def test_two_proofs_rejected(verifier, ec_key, cache):
    rejected(verifier, [make_proof(ec_key), make_proof(ec_key)], "more than one DPoP header")
    rejected(verifier, [make_proof(ec_key), ""], "more than one DPoP header")
    assert cache.calls == []


def test_folded_dpop_headers_rejected(verifier, ec_key):
    rejected(verifier, [f"{make_proof(ec_key)}, {make_proof(ec_key)}"], "more than one DPoP header")


def test_proof_longer_than_max_bytes_rejected(ec_key, cache):
    verifier = DPoPVerifier(cache, clock=lambda: NOW, max_proof_bytes=4096)
    proof = make_proof(ec_key, claims={"padding": "x" * 4096})
    assert len(proof) > 4096
    rejected(verifier, [proof], "exceeds 4096 bytes")


def test_not_a_jwt_rejected(verifier):
    rejected(verifier, ["not-a-jwt"], "not a JWT")


def test_jws_with_two_parts_rejected(verifier, ec_key):
    header, payload, _ = make_proof(ec_key).split(".")
    rejected(verifier, [f"{header}.{payload}"], "not a JWT", "3 parts")


def test_non_base64url_part_rejected(verifier, ec_key):
    header, payload, signature = make_proof(ec_key).split(".")
    rejected(verifier, [f"{header}.{payload}+.{signature}"], "not a JWT")


def test_header_not_json_rejected(verifier):
    rejected(verifier, [f"{b64(b'nope')}.{b64json(default_claims())}.c2ln"], "not a JWT", "header")


def test_duplicate_header_member_rejected(verifier):
    header = b'{"typ":"dpop+jwt","typ":"dpop+jwt","alg":"ES256"}'
    rejected(verifier, [f"{b64(header)}.{b64json(default_claims())}.c2ln"], "not a JWT")


# --- negative cases: the JOSE header -----------------------------------------------------------------------


def test_missing_typ_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, header={"typ": DROP})], "missing 'typ'")


def test_wrong_typ_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, header={"typ": "JWT"})], "invalid 'typ'")


def test_missing_alg_rejected(verifier, ec_key):
    header = {"typ": "dpop+jwt", "jwk": ec_key.as_dict(private=False)}
    rejected(verifier, [unsigned_token(header, default_claims())], "missing 'alg'")


def test_alg_none_rejected(verifier, ec_key):
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": ec_key.as_dict(private=False)}
    rejected(verifier, [unsigned_token(header, default_claims())], "unsupported 'alg'")


def test_rs256_rejected(verifier, rsa_key):
    rejected(verifier, [make_proof(rsa_key, "RS256")], "unsupported 'alg'")


def test_hs256_rejected(verifier, ec_key):
    secret = OctKey.generate_key(256)
    proof = make_proof(ec_key, "HS256", sign_key=secret)
    rejected(verifier, [proof], "unsupported 'alg'")


def test_missing_jwk_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, header={"jwk": DROP})], "missing 'jwk'")


def test_jwk_not_an_object_rejected(verifier, ec_key):
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": "key"}
    rejected(verifier, [unsigned_token(header, default_claims(), "c2ln")], "invalid 'jwk'")


def test_jwk_with_private_key_d_rejected(verifier, ec_key):
    proof = make_proof(ec_key, header={"jwk": ec_key.as_dict(private=True)})
    rejected(verifier, [proof], "private key")


def test_jwk_symmetric_key_rejected(verifier, ec_key):
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "oct", "k": b64(b"0" * 32)}}
    rejected(verifier, [unsigned_token(header, default_claims(), "c2ln")], "private key")


def test_jwk_type_not_fitting_alg_rejected(verifier, ed_key):
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": ed_key.as_dict(private=False)}
    rejected(verifier, [unsigned_token(header, default_claims(), "c2ln")], "'ES256' requires an EC P-256 key")


def test_ec_p384_key_with_es256_rejected(verifier):
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": ECKey.generate_key("P-384").as_dict(private=False)}
    rejected(verifier, [unsigned_token(header, default_claims(), "c2ln")], "EC P-256")


def test_rsa_key_below_2048_bits_rejected(verifier):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        small = RSAKey.generate_key(1024)
    rejected(verifier, [make_proof(small, "PS256")], "at least 2048 bits")


def test_crit_header_rejected(verifier, ec_key):
    header = {
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": ec_key.as_dict(private=False),
        "crit": ["exp"],
        "exp": 1,
    }
    rejected(verifier, [unsigned_token(header, default_claims(), "c2ln")], "'crit'")


def test_bad_signature_tampered_payload_rejected(verifier, ec_key, cache):
    header, _, signature = make_proof(ec_key).split(".")
    tampered = f"{header}.{b64json(default_claims(htm='POST'))}.{signature}"
    rejected(verifier, [tampered], "signature")
    assert cache.calls == []


def test_empty_signature_rejected(verifier, ec_key):
    header, payload, _ = make_proof(ec_key).split(".")
    rejected(verifier, [f"{header}.{payload}."], "signature")


def test_signed_with_a_different_key_rejected(verifier, ec_key):
    other = ECKey.generate_key("P-256")
    rejected(verifier, [make_proof(ec_key, sign_key=other)], "signature")


# --- negative cases: claims ------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_missing_claim_rejected(verifier, ec_key, claim):
    rejected(verifier, [make_proof(ec_key, claims={claim: DROP})], f"missing '{claim}' claim")


def test_payload_not_json_object_rejected(verifier, ec_key):
    header, _, _ = make_proof(ec_key).split(".")
    # Signature is checked first, so sign a payload that is a JSON array.
    registry = JWSRegistry(algorithms=["ES256"])
    proof = jws.serialize_compact(
        json.loads(base64.urlsafe_b64decode(header + "==")), b"[1]", ec_key, registry=registry
    )
    rejected(verifier, [proof], "payload is not a JSON object")


def test_jti_too_long_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, claims={"jti": "j" * 257})], "'jti'")


def test_jti_not_a_string_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, claims={"jti": 12345})], "'jti'")


def test_wrong_htm_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, claims={"htm": "PUT"})], "'htm'")


def test_htm_lower_case_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, claims={"htm": "get"})], "'htm'")


def test_wrong_htu_other_path_rejected(verifier, ec_key):
    proof = make_proof(ec_key, claims={"htu": "https://api.bank.example/payments/v1/payments"})
    rejected(verifier, [proof], "'htu' claim does not match")


def test_wrong_htu_other_host_rejected(verifier, ec_key):
    proof = make_proof(ec_key, claims={"htu": "https://evil.example/accounts/v1/accounts"})
    rejected(verifier, [proof], "'htu' claim does not match")


def test_htu_not_a_url_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, claims={"htu": "urn:example:x"})], "'htu'")


def test_iat_70_seconds_in_future_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, iat=NOW + 70)], "'iat'", "future")


def test_iat_11_seconds_in_future_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, iat=NOW + 11)], "'iat'", "future")


def test_iat_120_seconds_in_past_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, iat=NOW - 120)], "'iat'", "past")


def test_iat_one_hour_in_past_and_future_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, iat=NOW - 3600)], "'iat'", "past")
    rejected(verifier, [make_proof(ec_key, iat=NOW + 3600)], "'iat'", "future")


def test_iat_not_a_number_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key, claims={"iat": str(NOW)})], "invalid 'iat'")
    rejected(verifier, [make_proof(ec_key, claims={"iat": True})], "invalid 'iat'")


def test_missing_ath_when_token_given_rejected(verifier, ec_key):
    rejected(verifier, [make_proof(ec_key)], "missing 'ath'", access_token=ACCESS_TOKEN)


def test_wrong_ath_rejected(verifier, ec_key):
    proof = make_proof(ec_key, claims={"ath": access_token_hash("another-token")})
    rejected(verifier, [proof], "'ath' claim does not match", access_token=ACCESS_TOKEN)


def test_expected_jkt_mismatch_rejected(verifier, ec_key, ed_key, cache):
    proof = make_proof(ec_key)
    rejected(verifier, [proof], "DPoP key does not match the bound key", expected_jkt=ed_key.thumbprint())
    assert cache.calls == []


# --- replay --------------------------------------------------------------------------------------------------


def test_replayed_jti_rejected(verifier, ec_key):
    proof = make_proof(ec_key)
    ok(verifier, proof)
    rejected(verifier, [proof], "replayed")


def test_same_jti_from_another_key_is_not_a_replay(verifier, ec_key, ed_key):
    ok(verifier, make_proof(ec_key, claims={"jti": "shared"}))
    ok(verifier, make_proof(ed_key, "EdDSA", claims={"jti": "shared"}))


def test_replay_key_and_ttl(ec_key):
    seen: list[tuple[str, int]] = []

    class Recorder:
        def first_use(self, key: str, ttl_s: int) -> bool:
            seen.append((key, ttl_s))
            return True

    ok(DPoPVerifier(Recorder(), clock=lambda: NOW), make_proof(ec_key, claims={"jti": "abc"}))
    assert seen == [(f"{ec_key.thumbprint()}:abc", 70)]


def test_failed_proof_does_not_burn_jti(verifier, ec_key, cache):
    proof = make_proof(ec_key)  # htm is GET
    rejected(verifier, [proof], "'htm'", method="POST")
    rejected(verifier, [proof], "'htu'", url="https://api.bank.example/other")
    rejected(verifier, [proof], "'ath'", access_token=ACCESS_TOKEN)
    assert cache.calls == []
    ok(verifier, proof)  # the same jti is still unused
    assert len(cache.calls) == 1


# --- server nonce -------------------------------------------------------------------------------------------


def test_use_dpop_nonce_when_nonce_absent(ec_key, cache):
    verifier = DPoPVerifier(cache, clock=lambda: NOW, nonce_provider=lambda: "server-nonce-1")
    error = rejected(verifier, [make_proof(ec_key)], "nonce")
    assert isinstance(error, UseDPoPNonceError)
    assert error.error == "use_dpop_nonce"
    assert error.nonce == "server-nonce-1"
    assert ("DPoP-Nonce", "server-nonce-1") in error.get_headers()
    assert cache.calls == []


def test_use_dpop_nonce_when_nonce_wrong(ec_key, cache):
    verifier = DPoPVerifier(cache, clock=lambda: NOW, nonce_provider=lambda: "server-nonce-2")
    error = rejected(verifier, [make_proof(ec_key, claims={"nonce": "server-nonce-1"})], "nonce")
    assert isinstance(error, UseDPoPNonceError)
    assert error.nonce == "server-nonce-2"


def test_nonce_accepted_when_right(ec_key, cache):
    verifier = DPoPVerifier(cache, clock=lambda: NOW, nonce_provider=lambda: "server-nonce-1")
    assert ok(verifier, make_proof(ec_key, claims={"nonce": "server-nonce-1"})).nonce == "server-nonce-1"


# --- errors and configuration -------------------------------------------------------------------------------


def test_errors_are_oauth2_errors_with_codes():
    error = InvalidDPoPProofError("missing DPoP proof")
    assert isinstance(error, OAuth2Error)
    assert (error.error, error.status_code) == ("invalid_dpop_proof", 400)
    status, body, _ = error()
    assert status == 400
    assert body == {"error": "invalid_dpop_proof", "error_description": "missing DPoP proof"}
    assert issubclass(UseDPoPNonceError, InvalidDPoPProofError)


@pytest.mark.parametrize(
    "kwargs", [{"iat_window_s": 0}, {"future_leeway_s": 61}, {"future_leeway_s": -1}, {"max_proof_bytes": 0}]
)
def test_verifier_rejects_unsafe_bounds(kwargs):
    with pytest.raises(ValueError):
        DPoPVerifier(MemoryReplayCache(), **kwargs)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_header_value_only_raises_invalid_proof(value):
    verifier = DPoPVerifier(MemoryReplayCache(), clock=lambda: NOW)
    with pytest.raises(InvalidDPoPProofError):
        verifier.verify([value], method=METHOD, url=URL)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    header=st.dictionaries(
        st.sampled_from(["typ", "alg", "jwk", "kid", "crit", "b64"]), json_values, max_size=5
    ),
    claims=st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), json_values),
)
def test_arbitrary_jose_structure_only_raises_invalid_proof(header, claims):
    verifier = DPoPVerifier(MemoryReplayCache(), clock=lambda: NOW)
    with pytest.raises(InvalidDPoPProofError):
        verifier.verify([unsigned_token(header, claims, "c2ln")], method=METHOD, url=URL)


# --- MemoryReplayCache -------------------------------------------------------------------------------------


def test_memory_cache_is_a_replay_cache():
    assert isinstance(MemoryReplayCache(), ReplayCache)


def test_memory_cache_first_use_then_replay():
    cache = MemoryReplayCache(clock=FakeClock())
    assert cache.first_use("k", ttl_s=70) is True
    assert cache.first_use("k", ttl_s=70) is False
    assert cache.first_use("other", ttl_s=70) is True


def test_memory_cache_ttl_expiry_with_injected_clock():
    clock = FakeClock(1000.0)
    cache = MemoryReplayCache(clock=clock)
    assert cache.first_use("k", ttl_s=70)
    clock.now += 69.9
    assert not cache.first_use("k", ttl_s=70)
    clock.now += 0.1
    assert cache.first_use("k", ttl_s=70)  # expired, so a first use again
    assert len(cache) == 1


def test_memory_cache_bound_on_entries_evicts_oldest():
    cache = MemoryReplayCache(max_entries=3, clock=FakeClock())
    for key in "abcd":
        assert cache.first_use(key, ttl_s=70)
    assert len(cache) == 3
    assert cache.first_use("a", ttl_s=70)  # "a" was the oldest and was evicted
    assert not cache.first_use("d", ttl_s=70)


def test_memory_cache_evicts_expired_before_oldest():
    clock = FakeClock()
    cache = MemoryReplayCache(max_entries=3, clock=clock)
    assert cache.first_use("old-live", ttl_s=100)
    assert cache.first_use("short", ttl_s=1)
    assert cache.first_use("live", ttl_s=100)
    clock.now += 2
    assert cache.first_use("new", ttl_s=100)  # takes the expired entry's place
    assert not cache.first_use("old-live", ttl_s=100)
    assert not cache.first_use("live", ttl_s=100)
    assert len(cache) == 3


def test_memory_cache_heap_stays_bounded_under_eviction():
    cache = MemoryReplayCache(max_entries=10, clock=FakeClock())
    for i in range(1000):
        cache.first_use(f"k{i}", ttl_s=70)
    assert len(cache) == 10
    assert len(cache._expiry_heap) <= 20


def test_memory_cache_thread_safe_single_winner():
    cache = MemoryReplayCache()
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        results.append(cache.first_use("same", ttl_s=70))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_memory_cache_rejects_bad_arguments():
    with pytest.raises(ValueError):
        MemoryReplayCache(max_entries=0)
    with pytest.raises(ValueError):
        MemoryReplayCache().first_use("k", ttl_s=0)


def test_replay_cache_from_url():
    assert isinstance(replay_cache_from_url(None), MemoryReplayCache)
    assert isinstance(replay_cache_from_url(""), MemoryReplayCache)
    cache = replay_cache_from_url(REDIS_TEST_URL)  # connects lazily
    assert isinstance(cache, RedisReplayCache)
    assert cache.prefix == "openbank:dpop:jti:"


# --- RedisReplayCache (real Redis, db 15) ------------------------------------------------------------------


@pytest.fixture
def redis_cache():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL}")
    prefix = f"test:dpop:{uuid.uuid4().hex}:"
    try:
        yield client, RedisReplayCache(client, prefix=prefix)
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_redis_cache_first_use_then_replay(redis_cache):
    client, cache = redis_cache
    assert cache.first_use("jkt:jti", ttl_s=70) is True
    assert cache.first_use("jkt:jti", ttl_s=70) is False
    assert 0 < client.ttl(cache.prefix + "jkt:jti") <= 70


def test_redis_cache_key_expires(redis_cache):
    client, cache = redis_cache
    assert cache.first_use("short", ttl_s=1)
    client.pexpire(cache.prefix + "short", 1)  # expire in 1 ms rather than sleeping a whole second
    time.sleep(0.05)
    assert client.get(cache.prefix + "short") is None
    assert cache.first_use("short", ttl_s=1)


def test_redis_cache_detects_replayed_proof(redis_cache, ec_key):
    _, cache = redis_cache
    verifier = DPoPVerifier(cache, clock=lambda: NOW)
    proof = make_proof(ec_key)
    ok(verifier, proof)
    rejected(verifier, [proof], "replayed")
