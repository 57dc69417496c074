"""TOTP and recovery-code primitives: secret encryption, code checks, QR code. No writes here;
`services.py` stores what these functions compute."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import lru_cache

import pyotp
import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

ISSUER = "CPMS"
TOTP_INTERVAL = 30
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1  # accept the previous and the next 30-second step for clock drift
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_NONCE_BYTES = 12


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


@lru_cache(maxsize=4)
def _totp_key(master_key: bytes) -> bytes:
    return _derive(master_key, b"cpms totp v1")


@lru_cache(maxsize=4)
def _recovery_key(master_key: bytes) -> bytes:
    return _derive(master_key, b"cpms recovery codes v1")


def _associated_data(user_id: int) -> bytes:
    # binds the ciphertext to its row: a secret copied to another user does not decrypt
    return f"users_totpdevice.secret_encrypted:{user_id}".encode()


def secret_new() -> str:
    return pyotp.random_base32()  # 160 bits, base32


def secret_encrypt(secret: str, *, user_id: int) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    cipher = AESGCM(_totp_key(settings.CPMS_MASTER_KEY))
    return nonce + cipher.encrypt(nonce, secret.encode(), _associated_data(user_id))


def secret_decrypt(blob: bytes, *, user_id: int) -> str:
    blob = bytes(blob)
    cipher = AESGCM(_totp_key(settings.CPMS_MASTER_KEY))
    nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    return cipher.decrypt(nonce, ciphertext, _associated_data(user_id)).decode()


def time_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // TOTP_INTERVAL)


def totp_matching_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step whose code equals `code` (within the drift window), or None."""
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    current = time_step(at)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The current code (tests and the enrolment check use it)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).at(
        time.time() if at is None else at
    )


def provisioning_uri(secret: str, *, username: str) -> str:
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    return totp.provisioning_uri(name=username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI, so the page needs no inline script or style."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def recovery_code_new() -> str:
    """Ten characters from a 31-letter alphabet (~50 bits), shown as xxxxx-xxxxx."""
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def recovery_code_normalise(code: str) -> str:
    raw = "".join(ch for ch in code.lower() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else raw


def recovery_code_hash(code: str) -> str:
    """Keyed hash: a database dump alone does not allow guessing codes offline."""
    key = _recovery_key(settings.CPMS_MASTER_KEY)
    return hmac.new(key, recovery_code_normalise(code).encode(), hashlib.sha256).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len("".join(ch for ch in code if ch.isalnum())) == 10
