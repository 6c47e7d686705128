"""The hot-path JWS code agrees with joserfc both ways, and refuses what joserfc refuses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from openbank_kit import compact_jws
from openbank_kit.compact_jws import InvalidJWS

EC = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
OTHER_EC = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
SECRET = bytes(range(32))
claims_strategy = st.dictionaries(
    st.text(min_size=1, max_size=10),
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=40), st.booleans(), st.none()),
    max_size=6,
)


def _es256(claims: dict, key=EC) -> str:
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}, claims, key, algorithms=["ES256"])


@settings(max_examples=50, deadline=None)
@given(claims_strategy)
def test_an_es256_token_from_joserfc_verifies_here_with_the_same_claims(claims):
    header, payload, signing_input, signature = compact_jws.parts(_es256(claims))
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": "k1"}
    assert compact_jws.es256_signature_valid(EC.get_op_key("verify"), signing_input, signature)
    assert compact_jws.claims_of(payload) == claims


def test_an_es256_signature_of_another_key_or_of_other_content_is_refused():
    token = _es256({"sub": "a"})
    _header, _payload, signing_input, signature = compact_jws.parts(token)
    assert not compact_jws.es256_signature_valid(OTHER_EC.get_op_key("verify"), signing_input, signature)
    forged = _es256({"sub": "b"}, OTHER_EC).split(".")
    mixed = ".".join([token.split(".")[0], forged[1], token.split(".")[2]])
    _h, _p, mixed_input, mixed_signature = compact_jws.parts(mixed)
    assert not compact_jws.es256_signature_valid(EC.get_op_key("verify"), mixed_input, mixed_signature)
    assert not compact_jws.es256_signature_valid(EC.get_op_key("verify"), signing_input, signature[:63])


@settings(max_examples=50, deadline=None)
@given(claims_strategy)
def test_hs256_tokens_round_trip_with_joserfc_both_ways(claims):
    ours = compact_jws.hs256_sign(SECRET, {"typ": "x+jwt"}, claims)
    decoded = jwt.decode(ours, OctKey.import_key(SECRET), algorithms=["HS256"])
    assert decoded.claims == claims and decoded.header == {"typ": "x+jwt", "alg": "HS256"}
    theirs = jwt.encode(
        {"alg": "HS256", "typ": "x+jwt"}, claims, OctKey.import_key(SECRET), algorithms=["HS256"]
    )
    assert compact_jws.hs256_verify(SECRET, theirs)[1] == claims


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.c2ln",
        "bm90IGpzb24.e30.c2ln",  # header "not json"
        "WzFd.e30.c2ln",  # header [1]
        "x" * 9000,
    ],
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidJWS):
        compact_jws.hs256_verify(SECRET, token)


def test_hs256_refuses_a_wrong_key_a_changed_payload_and_other_algorithms():
    token = compact_jws.hs256_sign(SECRET, {"typ": "x"}, {"sub": "a"})
    with pytest.raises(InvalidJWS):
        compact_jws.hs256_verify(bytes(32), token)
    header, _payload, signature = token.split(".")
    other = compact_jws.hs256_sign(SECRET, {"typ": "x"}, {"sub": "b"}).split(".")[1]
    with pytest.raises(InvalidJWS):
        compact_jws.hs256_verify(SECRET, f"{header}.{other}.{signature}")
    with pytest.raises(InvalidJWS, match="algorithm"):
        compact_jws.hs256_verify(SECRET, _es256({"sub": "a"}))
    none_header = compact_jws.b64url_encode(b'{"alg":"none"}')
    unsigned = none_header + "." + token.split(".")[1] + "."
    with pytest.raises(InvalidJWS):
        compact_jws.hs256_verify(SECRET, unsigned)
