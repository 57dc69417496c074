"""Checkpoint signatures: Ed25519 with a key derived from the master key (HKDF-SHA256, info
"cpms audit checkpoint v1"), so there is no further secret to store or lose."""

from __future__ import annotations

import base64
import functools
import hashlib
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

HKDF_INFO = b"cpms audit checkpoint v1"
MESSAGE_HEADER = "cpms audit checkpoint v1"


def private_key_from_master(master_key: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(master_key)
    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.cache
def _private_key_for(master_key: bytes) -> Ed25519PrivateKey:
    return private_key_from_master(master_key)


def private_key() -> Ed25519PrivateKey:
    return _private_key_for(bytes(settings.CPMS_MASTER_KEY))


def public_key_bytes(key: Ed25519PrivateKey | None = None) -> bytes:
    return (
        (key or private_key())
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def public_key_pem(key: Ed25519PrivateKey | None = None) -> str:
    return (
        (key or private_key())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_message(tree_size: int, root_hash_hex: str, moment: datetime) -> bytes:
    """The exact bytes signed: four lines, UTF-8, each ending in a newline."""
    return f"{MESSAGE_HEADER}\n{tree_size}\n{root_hash_hex}\n{format_time(moment)}\n".encode()


def sign(message: bytes, key: Ed25519PrivateKey | None = None) -> str:
    return (key or private_key()).sign(message).hex()


def signature_valid(message: bytes, signature_hex: str, public: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
