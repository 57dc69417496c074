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


# --- issue 20 items 2 and 4: nonces across fork, and refusals ----------------------------------


def test_nonce_pool__nonces_are_consecutive_12_byte_slices_of_one_draw():
    pool = crypto._NoncePool()
    buffer = pool._state[0]

    taken = [pool.take() for _ in range(pool.BATCH)]

    assert len(buffer) == 12 * pool.BATCH
    assert b"".join(taken) == buffer
    refill = pool.take()
    assert pool._state[0] is not buffer and refill == pool._state[0][:12]


def test_nonce_pool__reset_discards_the_current_draw():
    pool = crypto._NoncePool()
    before = pool._state[0]
    pool.reset()
    assert pool._state[0] != before and pool.take() == pool._state[0][:12]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_new_nonce__forked_child_never_repeats_a_parent_nonce():
    # given: the parent has a live draw (the child would inherit it without the fork hook)
    crypto.new_nonce()
    read_end, write_end = os.pipe()
    # when
    pid = os.fork()
    if pid == 0:  # the child: report 200 nonces and leave without running any cleanup
        try:
            os.close(read_end)
            os.write(write_end, b"".join(crypto.new_nonce() for _ in range(200)))
        finally:
            os._exit(0)
    os.close(write_end)
    received = b""
    while chunk := os.read(read_end, 65536):
        received += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = {crypto.new_nonce() for _ in range(200)}
    # then
    child = {received[start : start + 12] for start in range(0, len(received), 12)}
    assert (len(received), len(child)) == (200 * 12, 200)
    assert not child & parent


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33, 64])
def test_field_cipher__refuses_keys_that_are_not_32_bytes(size):
    # AES-GCM itself accepts 16 and 24 bytes: only the module's check keeps AES-256
    with pytest.raises(ValueError, match="AES-256 needs a 32-byte key"):
        crypto.FieldCipher("k1", bytes(size))


@pytest.mark.parametrize("key_id", ["", "a" * 33, "K1", "k-1", "k.1", "k 1", "键"])
def test_field_cipher__refuses_malformed_key_ids(key_id):
    with pytest.raises(ValueError, match=r"key id must be 1-32 characters of \[0-9a-z\]"):
        crypto.FieldCipher(key_id, KEY)


@pytest.mark.parametrize("key_id", ["k", "0", "a" * 32, "z9"])
def test_field_cipher__accepts_well_formed_key_ids(key_id):
    assert crypto.FieldCipher(key_id, KEY).key_id == key_id


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33, 64])
def test_derive_key__refuses_a_root_that_is_not_32_bytes(size):
    with pytest.raises(ValueError, match="root key must be 32 bytes"):
        crypto.derive_key(bytes(size), "blind-index|t.c")


@pytest.mark.parametrize(("table", "column"), [("a|b", "c"), ("a", "b|c"), ("|", "|")])
def test_associated_data__refuses_a_separator_in_table_or_column(table, column):
    with pytest.raises(ValueError, match=r"table and column names cannot contain '\|'"):
        crypto.associated_data(table, column, 1)


def test_associated_data__row_key_is_the_last_part():
    assert crypto.associated_data("t", "c", "a|b") == b"cpms/v1|t|c|a|b"


@pytest.mark.parametrize("size", [0, 1, 15])
def test_blind_index__refuses_keys_shorter_than_16_bytes(size):
    with pytest.raises(ValueError, match="blind index key too short"):
        crypto.BlindIndex(bytes(size))


@pytest.mark.parametrize("size", [16, 32, 63, 64, 65, 100])
def test_blind_index__is_rfc2104_hmac_for_every_key_length(size):
    # keys up to the 64-byte block are padded, longer ones hashed first (RFC 2104)
    key = bytes(range(size))
    index = crypto.BlindIndex(key)

    expected = hmac.new(key, " x ".strip().encode(), hashlib.sha256).hexdigest()
    assert index(" x ") == index.raw("x") == expected
    assert repr(index) == "<BlindIndex>"


def test_decrypt__with_a_resolver_function():
    token = cipher("k1").encrypt(b"\x00bytes", AAD)

    assert crypto.decrypt(lambda key_id: cipher(key_id), token, AAD) == b"\x00bytes"
    with pytest.raises(crypto.UnknownKey) as raised:
        crypto.decrypt(lambda key_id: None, token, AAD)
    assert (raised.value.key_id, str(raised.value)) == ("k1", "no key with id 'k1'")
    assert crypto.encrypt(cipher(), "x", AAD).startswith("v1.k1.")


def test_decrypt__shortest_well_formed_value_is_a_refused_tag_not_a_format_error():
    too_short = "v1.k1." + binascii.b2a_base64(bytes(27), newline=False).decode()
    shortest = "v1.k1." + binascii.b2a_base64(bytes(28), newline=False).decode()

    with pytest.raises(crypto.MalformedCiphertext, match="ciphertext is too short"):
        cipher().decrypt(too_short, AAD)
    with pytest.raises(crypto.DecryptionFailed, match="the value does not authenticate"):
        cipher().decrypt(shortest, AAD)


def test_malformed_ciphertext__messages():
    with pytest.raises(crypto.MalformedCiphertext, match="not a CPMS v1 ciphertext"):
        crypto.token_key_id("v1.k1")
    with pytest.raises(crypto.MalformedCiphertext, match="ciphertext is not base64"):
        crypto.token_key_id("v1.k1.@@@@")
    with pytest.raises(crypto.MalformedCiphertext, match="ciphertext is not base64"):
        crypto.token_key_id("v1.k1.AAAA\n")


def test_cipher_for__is_cached_and_new_key_is_32_random_bytes():
    assert crypto.cipher_for("k1", KEY) is crypto.cipher_for("k1", KEY)
    first, second = crypto.new_key(), crypto.new_key()
    assert (len(first), len(second), first != second) == (32, 32, True)
    assert len(crypto.new_nonce()) == 12


@pytest.mark.parametrize(
    ("kind", "value", "normalised"),
    [
        ("identity", "e12345678", "E12345678"),
        ("identity", "Ｅ１２３ ４５６７８", "E12345678"),
        ("email", "A@B.CN", "a@b.cn"),
        ("email", " Ａ@b.cn ", "a@b.cn"),
        ("bank_account", "6222021234561234", "6222021234561234"),
        ("bank_account", "６２２２ ０２１２", "62220212"),
        ("text", "  ｔｅｘｔ  ", "text"),
        ("text", "plain", "plain"),
    ],
)
def test_normalisers__fast_and_folded_paths(kind, value, normalised):
    assert crypto.NORMALISERS[kind](value) == normalised
