"""cpms.core.crypto: pure functions, no database."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpms.core import crypto

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
FULLWIDTH_ID = "１１０１０１１９９００３０７１２３Ｘ"
AAD = crypto.associated_data("customers_customer", "identity_number_encrypted", 42)


def cipher(key_id: str = "k1", key: bytes = KEY) -> crypto.FieldCipher:
    return crypto.FieldCipher(key_id, key)


def test_associated_data__binds_table_column_and_row():
    assert AAD == b"cpms/v1|customers_customer|identity_number_encrypted|42"


def test_encrypt__round_trip_and_format():
    token = cipher().encrypt("110101199003071234", AAD)

    version, key_id, body = token.split(".")
    assert (version, key_id) == ("v1", "k1")
    assert len(binascii.a2b_base64(body)) == 12 + len("110101199003071234") + 16
    assert cipher().decrypt(token, AAD) == b"110101199003071234"
    assert crypto.token_key_id(token) == "k1"


def test_encrypt__fresh_nonce_every_time():
    tokens = {cipher().encrypt("same", AAD) for _ in range(1000)}

    assert len(tokens) == 1000
    nonces = {binascii.a2b_base64(token.split(".")[2])[:12] for token in tokens}
    assert len(nonces) == 1000


def test_nonce_pool__refills_after_a_batch_without_repeating():
    pool = crypto._NoncePool()
    seen = [pool.take() for _ in range(pool.BATCH * 2 + 5)]

    assert len(set(seen)) == len(seen)
    assert all(len(nonce) == 12 for nonce in seen)


def test_decrypt__tampered_ciphertext_refused():
    token = cipher().encrypt("13812345678", AAD)
    raw = bytearray(binascii.a2b_base64(token.split(".")[2]))
    raw[14] ^= 0x01
    tampered = "v1.k1." + binascii.b2a_base64(bytes(raw), newline=False).decode()

    with pytest.raises(crypto.DecryptionFailed):
        cipher().decrypt(tampered, AAD)


def test_decrypt__tampered_tag_refused():
    token = cipher().encrypt("13812345678", AAD)
    raw = bytearray(binascii.a2b_base64(token.split(".")[2]))
    raw[-1] ^= 0x80
    tampered = "v1.k1." + binascii.b2a_base64(bytes(raw), newline=False).decode()

    with pytest.raises(crypto.DecryptionFailed):
        cipher().decrypt(tampered, AAD)


@pytest.mark.parametrize(
    ("table", "column", "row"),
    [
        ("customers_customer", "identity_number_encrypted", 43),  # another row
        ("customers_customer", "phone_encrypted", 42),  # another column
        ("customers_contact", "identity_number_encrypted", 42),  # another table
    ],
)
def test_decrypt__wrong_binding_refused(table, column, row):
    token = cipher().encrypt("110101199003071234", AAD)

    with pytest.raises(crypto.DecryptionFailed):
        cipher().decrypt(token, crypto.associated_data(table, column, row))


def test_decrypt__key_id_swapped_to_another_key_refused():
    token = cipher("k1", KEY).encrypt("secret", AAD)
    relabelled = token.replace("v1.k1.", "v1.k2.", 1)
    keys = {"k1": cipher("k1", KEY), "k2": cipher("k2", OTHER_KEY)}

    assert crypto.decrypt(keys, token, AAD) == b"secret"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(keys, relabelled, AAD)


def test_decrypt__unknown_key_id_named():
    token = cipher("k9").encrypt("secret", AAD)

    with pytest.raises(crypto.UnknownKey) as raised:
        crypto.decrypt({"k1": cipher()}, token, AAD)
    assert raised.value.key_id == "k9"


def test_decrypt__key_id_mismatch_on_cipher_refused():
    token = cipher("k9").encrypt("secret", AAD)

    with pytest.raises(crypto.UnknownKey):
        cipher("k1").decrypt(token, AAD)


@pytest.mark.parametrize(
    "token",
    ["", "v1.k1", "v2.k1.AAAA", "v1.K1.AAAA", "v1.k1.@@@@", "v1.k1.AAAA", "v1..AAAA", "a.b.c.d"],
)
def test_decrypt__malformed_refused(token):
    with pytest.raises(crypto.MalformedCiphertext):
        cipher().decrypt(token, AAD)


def test_field_cipher__refuses_bad_key_and_id():
    with pytest.raises(ValueError):
        crypto.FieldCipher("k1", b"short")
    with pytest.raises(ValueError):
        crypto.FieldCipher("K.1", KEY)
    assert "k1" in repr(cipher()) and KEY.hex() not in repr(cipher())


@settings(max_examples=200, deadline=None)
@given(
    value=st.text(max_size=200),
    row=st.integers(min_value=1, max_value=2**63 - 1),
    key=st.binary(min_size=32, max_size=32),
)
def test_encrypt__round_trip_property(value, row, key):
    aad = crypto.associated_data("t", "c", row)
    field_cipher = crypto.FieldCipher("kp", key)

    token = field_cipher.encrypt(value, aad)

    assert field_cipher.decrypt(token, aad).decode() == value
    assert token.isascii()
    with pytest.raises(crypto.DecryptionFailed):
        field_cipher.decrypt(token, crypto.associated_data("t", "c", row + 1))


def test_key_fingerprint__short_stable_and_labelled():
    assert crypto.key_fingerprint(KEY) == crypto.key_fingerprint(KEY)
    assert len(crypto.key_fingerprint(KEY)) == 16
    assert crypto.key_fingerprint(KEY) != crypto.key_fingerprint(OTHER_KEY)
    assert crypto.key_fingerprint(KEY, label="a") != crypto.key_fingerprint(KEY, label="b")


def test_derive_key__separate_per_purpose():
    first = crypto.derive_key(KEY, "blind-index|customers.phone")

    assert len(first) == 32
    assert first == crypto.derive_key(KEY, "blind-index|customers.phone")
    assert first != crypto.derive_key(KEY, "blind-index|customers.email")
    assert first != crypto.derive_key(OTHER_KEY, "blind-index|customers.phone")


def test_blind_index__is_hmac_sha256_of_the_normalised_value():
    key = os.urandom(32)
    index = crypto.BlindIndex(key, crypto.normalise_email)

    expected = hmac.new(key, b"zhang@example.com", hashlib.sha256).hexdigest()
    assert index(" Zhang@Example.COM ") == expected
    long_key = os.urandom(100)
    assert crypto.BlindIndex(long_key).raw("x") == hmac.new(long_key, b"x", "sha256").hexdigest()


def test_blind_index__separate_per_column():
    same_value = "13812345678"

    assert crypto.blind_index(KEY, "t.phone", "phone", same_value) != crypto.blind_index(
        KEY, "t.mobile", "phone", same_value
    )
    assert crypto.blind_index(KEY, "t.phone", "phone", same_value) == crypto.blind_index(
        KEY, "t.phone", "phone", "+86 138-1234-5678"
    )


@pytest.mark.parametrize(
    ("kind", "variants", "normalised"),
    [
        ("identity", ["11010119900307123x", "110101 19900307 123X", FULLWIDTH_ID],
         "11010119900307123X"),
        ("identity", ["E1234-5678", "e12345678"], "E12345678"),
        ("phone", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "8613812345678",
                   "(138) 1234 5678", "１３８１２３４５６７８"], "13812345678"),
        ("phone", ["010-6552 9988"], "01065529988"),
        ("email", ["Zhang@Example.com", "  zhang@EXAMPLE.COM ", "ｚｈａｎｇ＠example.com"],
         "zhang@example.com"),
        ("name", ["张三", " 张三 "], "张三"),
        ("name", ["Zhang  San", "ZHANG SAN", " zhang san"], "zhang san"),
        ("name", ["阿依古丽•买买提", "阿依古丽·买买提", "阿依古丽・买买提"], "阿依古丽·买买提"),
        ("bank_account", ["6222 0212 3456 1234", "6222-0212-3456-1234", "6222021234561234"],
         "6222021234561234"),
    ],
)  # fmt: skip
def test_normalisers__variants_of_one_value_agree(kind, variants, normalised):
    assert [crypto.NORMALISERS[kind](variant) for variant in variants] == [normalised] * len(
        variants
    )


def test_normalisers__different_values_stay_different():
    assert crypto.normalise_phone("13812345678") != crypto.normalise_phone("13812345679")
    assert crypto.normalise_name("张三") != crypto.normalise_name("张山")
    assert crypto.normalise_email("a@example.com") != crypto.normalise_email("b@example.com")
