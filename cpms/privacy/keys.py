"""Master keys and data keys: wrapping, unwrapping and the in-process key cache.

The current master key is `settings.CPMS_MASTER_KEY`; former ones, still needed to unwrap data
keys that `cpms keys rotate` has not yet re-wrapped, are `settings.CPMS_MASTER_KEYS_RETIRED`.
A master key's id is a short hash of it, stored next to every wrapped key.

Nothing here writes to the database; `services.py` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from cpms.core import crypto
from cpms.privacy.errors import IntegrityFailed, MasterKeyMissing

logger = logging.getLogger(__name__)

BLIND_INDEX_SUBJECT = ("privacy.blind_index", "root")
WRAP_TABLE = "privacy_datakey"


@dataclass(frozen=True)
class MasterKeyring:
    current: crypto.FieldCipher
    by_id: dict[str, crypto.FieldCipher]

    @property
    def current_id(self) -> str:
        return self.current.key_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.by_id)


def master_key_id(key: bytes) -> str:
    return crypto.key_fingerprint(key, label="master")


@lru_cache(maxsize=8)
def _keyring(current: bytes, retired: tuple[bytes, ...]) -> MasterKeyring:
    ciphers = [crypto.FieldCipher(master_key_id(key), key) for key in (current, *retired)]
    return MasterKeyring(current=ciphers[0], by_id={cipher.key_id: cipher for cipher in ciphers})


def master_keyring() -> MasterKeyring:
    """Read from settings on every call (cheap, cached by value), so a changed setting — in tests,
    or after a restart with new keys — takes effect at once."""
    retired = tuple(getattr(settings, "CPMS_MASTER_KEYS_RETIRED", ()) or ())
    return _keyring(bytes(settings.CPMS_MASTER_KEY), retired)


def _wrap_aad(subject_type: str, subject_id: str, key_id: str) -> bytes:
    return crypto.associated_data(WRAP_TABLE, key_id, f"{subject_type}:{subject_id}")


def wrap(*, subject_type: str, subject_id: str, key_id: str, key: bytes) -> tuple[str, str]:
    """(wrapped key text, master key id) under the current master key."""
    ring = master_keyring()
    wrapped = ring.current.encrypt(key, _wrap_aad(subject_type, subject_id, key_id))
    return wrapped, ring.current_id


def unwrap(*, subject_type: str, subject_id: str, key_id: str, wrapped: str) -> bytes:
    ring = master_keyring()
    try:
        master_id = crypto.token_key_id(wrapped)
        cipher = ring.by_id.get(master_id)
        if cipher is None:
            raise MasterKeyMissing(
                f"Data key {key_id} is wrapped by master key {master_id}, which is neither "
                "CPMS_MASTER_KEY nor in CPMS_MASTER_KEYS_RETIRED."
            )
        key = cipher.decrypt(wrapped, _wrap_aad(subject_type, subject_id, key_id))
    except crypto.CryptoError as exc:
        logger.error("data key %s failed to unwrap: %s", key_id, exc.__class__.__name__)
        raise IntegrityFailed() from None
    if len(key) != crypto.KEY_BYTES:
        raise IntegrityFailed()
    return key


@lru_cache(maxsize=8192)
def _data_cipher(
    key_id: str, wrapped: str, subject_type: str, subject_id: str, ring_ids: tuple[str, ...]
) -> crypto.FieldCipher:
    key = unwrap(subject_type=subject_type, subject_id=subject_id, key_id=key_id, wrapped=wrapped)
    return crypto.FieldCipher(key_id, key)


def data_cipher(
    *, key_id: str, wrapped: str, subject_type: str, subject_id: str
) -> crypto.FieldCipher:
    """The cipher of a live data key. Cached by its wrapped form: a re-wrapped key is a new cache
    entry and a destroyed key (wrapped form wiped) is never found again, so the database row is
    always the authority and the cache only saves the unwrap."""
    return _data_cipher(key_id, wrapped, subject_type, subject_id, master_keyring().ids)


def forget_cached_keys() -> None:
    """Drop unwrapped keys from this process (after a destroy), so they do not linger in memory."""
    _data_cipher.cache_clear()
    _blind_root.cache_clear()


@lru_cache(maxsize=16)
def _blind_root(key_id: str, wrapped: str, ring_ids: tuple[str, ...]) -> bytes:
    subject_type, subject_id = BLIND_INDEX_SUBJECT
    return unwrap(subject_type=subject_type, subject_id=subject_id, key_id=key_id, wrapped=wrapped)


def blind_root(*, key_id: str, wrapped: str) -> bytes:
    return _blind_root(key_id, wrapped, master_keyring().ids)
