"""Known-answer tests for cpms.core.crypto (issue 20 item 3): key derivation, the key-id
fingerprint, the blind index and the ciphertext layout. A change to any of them would make
every stored blind index, key id or ciphertext unmatchable after an upgrade.

How the vectors were obtained: once, from the specifications, with Python's `hmac`/`hashlib`
only (the functions below: RFC 5869 HKDF-SHA256 with no salt = 32 zero bytes, one output block;
RFC 2104 HMAC-SHA256), never with cpms.core.crypto; the hex constants are their output for the
inputs shown. The tests check the module against both the constants and the recomputation."""

from __future__ import annotations

import binascii
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cpms.core import crypto

ROOT = bytes(range(32))  # 00 01 02 ... 1f


def hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    """RFC 5869 with no salt (HashLen zero bytes) and L = 32 (one block: T(1))."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        (
            "blind-index|customers.phone",
            "900f8152c870ee4fc1bd2a1edfebb62b37d7d4cadb1bba048238b09e23a47854",
        ),
        ("data-key", "5cfcf3b297400c23ed470e01ff4f36cab80589a193761533c9e8ea886e212d4a"),
    ],
)
def test_derive_key__known_answer(purpose, expected):
    # info is "cpms/v1/<purpose>"
    assert hkdf_sha256(ROOT, f"cpms/v1/{purpose}".encode()).hex() == expected
    assert crypto.derive_key(ROOT, purpose).hex() == expected


@pytest.mark.parametrize(
    ("label", "expected"), [("master", "f10c279544d5cf38"), ("subject", "ef3a2f1eb772969d")]
)
def test_key_fingerprint__known_answer(label, expected):
    # first 16 hex digits of SHA-256("cpms/key-id/<label>|" || key)
    assert hashlib.sha256(f"cpms/key-id/{label}|".encode() + ROOT).hexdigest()[:16] == expected
    assert crypto.key_fingerprint(ROOT, label=label) == expected


def test_key_fingerprint__default_label_is_master():
    assert crypto.key_fingerprint(ROOT) == "f10c279544d5cf38"


@pytest.mark.parametrize(
    ("purpose", "kind", "value", "normalised", "expected"),
    [
        (
            "customers.email",
            "email",
            " Zhang@Example.COM ",
            b"zhang@example.com",
            "ca5e893e0c07eac345e157e2df58a67f40e3fd436aad6e91f9ef433d9d9e4ce4",
        ),
        (
            "customers.identity_number",
            "identity",
            "110101 19900307 123x",
            b"11010119900307123X",
            "adca37f35be183dc92fb8d266734da19c390b73f3d624d1e0f33bb5f41473296",
        ),
    ],
)
def test_blind_index__known_answer(purpose, kind, value, normalised, expected):
    # HMAC-SHA256(HKDF(root, "cpms/v1/blind-index|<purpose>"), normalised value)
    column_key = hkdf_sha256(ROOT, f"cpms/v1/blind-index|{purpose}".encode())
    assert hmac.new(column_key, normalised, hashlib.sha256).hexdigest() == expected
    assert crypto.blind_index(ROOT, purpose, kind, value) == expected
    assert crypto.blind_index_for(ROOT, purpose, kind).raw(normalised.decode()) == expected


def test_ciphertext__layout_is_v1_keyid_base64_of_nonce_ciphertext_tag():
    # a value made with AES-GCM directly, with the documented associated data, decrypts
    key = bytes(range(100, 132))
    nonce = bytes(range(12))
    aad = b"cpms/v1|customers_customer|phone_encrypted|7"
    sealed = AESGCM(key).encrypt(nonce, b"13812345678", aad)
    token = "v1.k7." + binascii.b2a_base64(nonce + sealed, newline=False).decode()
    assert crypto.associated_data("customers_customer", "phone_encrypted", 7) == aad
    assert crypto.FieldCipher("k7", key).decrypt(token, aad) == b"13812345678"
    # and a value the module makes decrypts with AES-GCM directly
    made = crypto.FieldCipher("k7", key).encrypt("13812345678", aad)
    version, key_id, body = made.split(".")
    raw = binascii.a2b_base64(body)
    assert (version, key_id, len(raw)) == ("v1", "k7", 12 + 11 + 16)
    assert AESGCM(key).decrypt(raw[:12], raw[12:], aad) == b"13812345678"


def test_constants__match_the_documented_format():
    assert (crypto.VERSION, crypto.KEY_BYTES, crypto.NONCE_BYTES, crypto.TAG_BYTES) == (
        "v1",
        32,
        12,
        16,
    )
    assert crypto.AAD_PREFIX == b"cpms/v1|"
