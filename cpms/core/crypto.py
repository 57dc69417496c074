"""Field encryption and blind indexes: pure functions over keys the caller provides.

Ciphertext format (text, so it lives in an ordinary TextField on SQLite and PostgreSQL alike,
survives JSON dumps and is readable in a database shell):

    v1.<key id>.<base64(nonce[12] || AES-256-GCM ciphertext || tag[16])>

The key id names the key that decrypts (a per-subject data key, or a master key for wrapped
keys), so rotation can tell which key a value needs without trying them all. The associated data
binds a value to where it is stored, `cpms/v1|<table>|<column>|<row key>`: a ciphertext copied
into another column or row does not decrypt.

Blind indexes are HMAC-SHA256 over a normalised value, with one key per column derived by HKDF
from a root key, so equal values in different columns do not share an index value.

Speed: key objects (AESGCM, HMAC inner/outer states) are built once and reused; nonces come from
the operating system's CSPRNG in 4 KiB draws rather than one system call per value.
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
AAD_PREFIX = b"cpms/v1|"
_SEPARATOR = "."
_KEY_ID = re.compile(r"^[0-9a-z]{1,32}$")


class CryptoError(Exception):
    """Base of every refusal; the message never contains key material or clear text."""


class MalformedCiphertext(CryptoError):
    """Not a value this module produced (wrong version, shape or encoding)."""


class UnknownKey(CryptoError):
    """The key id in the value names no key the caller can provide."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"no key with id {key_id!r}")


class DecryptionFailed(CryptoError):
    """Authentication failed: the value, its key id or its associated data were altered, or the
    value belongs to another table, column or row."""


# --- nonces -------------------------------------------------------------------------------


class _NoncePool:
    """Random 96-bit nonces, drawn from os.urandom in batches. Each batch is an immutable
    (buffer, counter) pair, so concurrent threads never receive the same slice; a forked child
    discards the parent's batch so two processes never share nonces."""

    BATCH = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = self._fresh()

    def _fresh(self) -> tuple[bytes, itertools.count[int]]:
        return os.urandom(NONCE_BYTES * self.BATCH), itertools.count()

    def reset(self) -> None:
        self._state = self._fresh()

    def take(self) -> bytes:
        buffer, counter = self._state
        index = next(counter)
        if index < self.BATCH:
            start = index * NONCE_BYTES
            return buffer[start : start + NONCE_BYTES]
        with self._lock:
            if self._state[0] is buffer:
                self._state = self._fresh()
        return self.take()


_nonces = _NoncePool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_nonces.reset)


def new_nonce() -> bytes:
    return _nonces.take()


# --- keys ---------------------------------------------------------------------------------


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def key_fingerprint(key: bytes, *, label: str = "master") -> str:
    """A short, stable, non-secret id for a key (16 hex digits of a labelled SHA-256)."""
    return hashlib.sha256(f"cpms/key-id/{label}|".encode() + key).hexdigest()[:16]


@lru_cache(maxsize=4096)
def derive_key(root: bytes, purpose: str) -> bytes:
    """HKDF-SHA256 of a root key for one purpose; different purposes give unrelated keys."""
    if len(root) != KEY_BYTES:
        raise ValueError("root key must be 32 bytes")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=f"cpms/{VERSION}/{purpose}".encode(),
    ).derive(root)


class FieldCipher:
    """An AES-256-GCM key with its id, built once and reused for every value it protects."""

    __slots__ = ("_aead", "_prefix", "key_id")

    def __init__(self, key_id: str, key: bytes) -> None:
        if not _KEY_ID.match(key_id):
            raise ValueError("key id must be 1-32 characters of [0-9a-z]")
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256 needs a 32-byte key")
        self.key_id = key_id
        self._aead = AESGCM(key)
        self._prefix = f"{VERSION}{_SEPARATOR}{key_id}{_SEPARATOR}"

    def encrypt(self, plaintext: str | bytes, aad: bytes) -> str:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = _nonces.take()
        sealed = self._aead.encrypt(nonce, data, aad)
        return self._prefix + binascii.b2a_base64(nonce + sealed, newline=False).decode()

    def decrypt(self, token: str, aad: bytes) -> bytes:
        key_id, raw = _split(token)
        if key_id != self.key_id:
            raise UnknownKey(key_id)
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionFailed("the value does not authenticate") from None

    def __repr__(self) -> str:  # never the key
        return f"<FieldCipher {self.key_id}>"


@lru_cache(maxsize=1024)
def cipher_for(key_id: str, key: bytes) -> FieldCipher:
    """A cached FieldCipher: building AESGCM per value would cost more than the encryption."""
    return FieldCipher(key_id, key)


@lru_cache(maxsize=4096)
def _aad_prefix(table: str, column: str) -> bytes:
    if "|" in table or "|" in column:
        raise ValueError("table and column names cannot contain '|'")
    return b"%s%s|%s|" % (AAD_PREFIX, table.encode(), column.encode())


def associated_data(table: str, column: str, row: object) -> bytes:
    """What a value is bound to: `cpms/v1|<table>|<column>|<row key>`."""
    return _aad_prefix(table, column) + str(row).encode()


def _split(token: str) -> tuple[str, bytes]:
    parts = token.split(_SEPARATOR)
    if len(parts) != 3 or parts[0] != VERSION or not _KEY_ID.match(parts[1]):
        raise MalformedCiphertext("not a CPMS v1 ciphertext")
    try:
        raw = binascii.a2b_base64(parts[2], strict_mode=True)
    except (binascii.Error, ValueError):
        raise MalformedCiphertext("ciphertext is not base64") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise MalformedCiphertext("ciphertext is too short")
    return parts[1], raw


def token_key_id(token: str) -> str:
    """The id of the key a value needs (without decrypting it)."""
    return _split(token)[0]


def encrypt(cipher: FieldCipher, plaintext: str | bytes, aad: bytes) -> str:
    return cipher.encrypt(plaintext, aad)


def decrypt(
    keys: Mapping[str, FieldCipher] | Callable[[str], FieldCipher | None], token: str, aad: bytes
) -> bytes:
    """Decrypt with whichever key the value names; `keys` maps (or resolves) key id → cipher."""
    key_id = token_key_id(token)
    cipher = keys.get(key_id) if isinstance(keys, Mapping) else keys(key_id)
    if cipher is None:
        raise UnknownKey(key_id)
    return cipher.decrypt(token, aad)


# --- blind indexes ------------------------------------------------------------------------


def _fold(value: str) -> str:
    """Full-width digits and letters to ASCII, compatibility forms folded (NFKC)."""
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


_NOT_DIGIT = re.compile(r"[^0-9]")
_IDENTITY_NOISE = re.compile(r"[\s\-_./]")
# Translated before NFKC, which would turn the full-width full stop into "." and the half-width
# katakana middle dot into the full-width one.
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "･": "·", "．": "·", "⋅": "·"})


def normalise_identity(value: str) -> str:
    """Identity document numbers: no spaces, dashes or dots; upper case (the X check digit)."""
    if value.isalnum() and value.isascii():
        return value.upper()
    return _IDENTITY_NOISE.sub("", _fold(value)).upper()


def normalise_phone(value: str) -> str:
    """Digits only; a mainland country code (+86, 0086, 86 before 11 digits) is dropped."""
    digits = value if value.isdigit() and value.isascii() else _NOT_DIGIT.sub("", _fold(value))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def normalise_email(value: str) -> str:
    return (value if value.isascii() else _fold(value)).strip().lower()


def normalise_name(value: str) -> str:
    """Whitespace collapsed, case folded, the several middle dots of transliterated names
    unified (`阿依古丽•买买提` equals `阿依古丽·买买提`)."""
    if not value.isascii():
        value = value.translate(_NAME_DOTS)
        if not unicodedata.is_normalized("NFKC", value):
            value = unicodedata.normalize("NFKC", value)
    return " ".join(value.split()).casefold()


def normalise_account(value: str) -> str:
    """Bank card and account numbers: digits only."""
    if value.isdigit() and value.isascii():
        return value
    return _NOT_DIGIT.sub("", _fold(value))


NORMALISERS: dict[str, Callable[[str], str]] = {
    "identity": normalise_identity,
    "phone": normalise_phone,
    "email": normalise_email,
    "name": normalise_name,
    "bank_account": normalise_account,
    "text": lambda value: _fold(value).strip(),
}


class BlindIndex:
    """HMAC-SHA256 with precomputed inner and outer states (RFC 2104), so each value costs two
    SHA-256 compressions and no key schedule."""

    __slots__ = ("_inner", "_normalise", "_outer")

    def __init__(self, key: bytes, normalise: Callable[[str], str] = NORMALISERS["text"]) -> None:
        if len(key) < 16:
            raise ValueError("blind index key too short")
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
        self._normalise = normalise

    def raw(self, normalised: str) -> str:
        """Index of an already normalised value (hex)."""
        inner = self._inner.copy()
        inner.update(normalised.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __call__(self, value: str) -> str:
        inner = self._inner.copy()  # raw() inlined: this is the per-field hot path
        inner.update(self._normalise(value).encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __repr__(self) -> str:
        return "<BlindIndex>"


@lru_cache(maxsize=1024)
def blind_index_for(root: bytes, purpose: str, kind: str) -> BlindIndex:
    """The blind index of one column: its own HKDF-derived key and the kind's normaliser."""
    return BlindIndex(derive_key(root, f"blind-index|{purpose}"), NORMALISERS[kind])


def blind_index(root: bytes, purpose: str, kind: str, value: str) -> str:
    return blind_index_for(root, purpose, kind)(value)
