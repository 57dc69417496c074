"""Protected fields: how a model declares its personal data, and how it is read back.

A model declares its protected fields once, as a class attribute:

    class Customer(models.Model):
        identity_number_encrypted = models.TextField(blank=True, default="")
        identity_number_index = models.CharField(max_length=64, blank=True, default="",
                                                 db_index=True)
        ...
        pii = ProtectedFields(
            fields={"identity_number": PiiField(PiiKind.IDENTITY, "identity_number_encrypted",
                                                "identity_number_index")},
            subject=lambda customer: ("customers.customer", str(customer.pk)),  # the default
        )

Writes go through `privacy.services.pii_assign` (encrypt + index, inside the caller's service);
reads through the functions below: `pii_masked` for display (the default everywhere),
`pii_read` for code that needs the clear value without showing it to a person (exports,
validation), `privacy.services.pii_reveal` when a person asks to see it (audited). Exact search
goes through `pii_filter` (the blind index; the clear value never reaches the database).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from cpms.core import crypto
from cpms.core.errors import NotFound
from cpms.privacy import keys
from cpms.privacy.choices import PiiKind
from cpms.privacy.errors import IntegrityFailed
from cpms.privacy.masking import mask
from cpms.privacy.models import DataKey

logger = logging.getLogger(__name__)

ERASED = "[erased]"
"""What a read returns once the subject's data key is destroyed (stable, language-neutral;
screens show a translated label instead)."""


@dataclass(frozen=True)
class PiiField:
    kind: str
    ciphertext: str
    index: str | None = None
    purpose: str | None = None  # blind-index key purpose; default "<table>.<field name>"


@dataclass(frozen=True)
class ProtectedFields:
    fields: Mapping[str, PiiField]
    # (subject type, subject id) whose data key encrypts the row; default: the row itself
    subject: Callable[[Any], tuple[str, str]] | None = None
    # narrows a queryset to what a user may see (the access layer's scoped queryset)
    scope: Callable[[Any, models.QuerySet], models.QuerySet] | None = None
    row_key: str = "pk"
    _kinds: tuple[str, ...] = field(default=tuple(PiiKind.values), repr=False)

    def __post_init__(self) -> None:
        for name, spec in self.fields.items():
            if spec.kind not in self._kinds:
                raise ValueError(f"protected field {name!r} has unknown kind {spec.kind!r}")


def spec_of(model: type[models.Model] | models.Model) -> ProtectedFields:
    spec = getattr(model, "pii", None)
    if not isinstance(spec, ProtectedFields):
        raise TypeError(f"{model!r} declares no protected fields (a `pii` ProtectedFields)")
    return spec


def field_of(model: type[models.Model] | models.Model, name: str) -> PiiField:
    try:
        return spec_of(model).fields[name]
    except KeyError:
        raise KeyError(f"{model!r} has no protected field {name!r}") from None


def subject_of(instance: models.Model) -> tuple[str, str]:
    spec = spec_of(instance)
    if spec.subject is not None:
        subject_type, subject_id = spec.subject(instance)
        return str(subject_type), str(subject_id)
    return instance._meta.label_lower, str(instance.pk)


def row_key_of(instance: models.Model) -> str:
    value = getattr(instance, spec_of(instance).row_key)
    if value in (None, ""):
        raise ValueError("protected values need a saved row (its key is in the associated data)")
    return str(value)


def aad_of(instance: models.Model, name: str) -> bytes:
    spec = field_of(instance, name)
    column = instance._meta.get_field(spec.ciphertext).column
    return crypto.associated_data(instance._meta.db_table, column, row_key_of(instance))


def index_purpose(model: type[models.Model] | models.Model, name: str) -> str:
    spec = field_of(model, name)
    return spec.purpose or f"{model._meta.db_table}.{name}"


def target_of(instance: models.Model) -> str:
    """The stable reference the reveal endpoint takes: `<app_label>.<model>:<pk>`."""
    return f"{instance._meta.label_lower}:{instance.pk}"


def resolve_target(target: str) -> tuple[type[models.Model], str]:
    """Model and primary key of a target; anything unknown is simply not found."""
    label, separator, pk = str(target).partition(":")
    if not separator or not pk or len(pk) > 64:
        raise NotFound()
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise NotFound() from None
    if not isinstance(getattr(model, "pii", None), ProtectedFields):
        raise NotFound()
    try:
        model._meta.pk.to_python(pk)
    except ValidationError:
        raise NotFound() from None
    return model, pk


# --- keys for reading ---------------------------------------------------------------------


_DESTROYED = object()


def _ciphers(key_ids: Iterable[str]) -> dict[str, Any]:
    """key id -> (cipher, subject) for live keys, _DESTROYED for destroyed ones; one query."""
    wanted = set(key_ids)
    if not wanted:
        return {}
    found: dict[str, Any] = {}
    rows = DataKey.objects.filter(key_id__in=wanted).values_list(
        "key_id", "wrapped_key", "subject_type", "subject_id", "destroyed_at"
    )
    for key_id, wrapped, subject_type, subject_id, destroyed_at in rows:
        if destroyed_at is not None:
            found[key_id] = _DESTROYED
        else:
            cipher = keys.data_cipher(
                key_id=key_id, wrapped=wrapped, subject_type=subject_type, subject_id=subject_id
            )
            found[key_id] = (cipher, (subject_type, subject_id))
    return found


def blind_root_or_none() -> bytes | None:
    """The blind-index root key, or None if it was never created (then nothing is indexed)."""
    subject_type, subject_id = keys.BLIND_INDEX_SUBJECT
    row = (
        DataKey.objects.filter(subject_type=subject_type, subject_id=subject_id)
        .values_list("key_id", "wrapped_key")
        .first()
    )
    if row is None:
        return None
    return keys.blind_root(key_id=row[0], wrapped=row[1])


# --- reading ------------------------------------------------------------------------------


def _decrypt(instance: models.Model, name: str, token: str, ciphers: Mapping[str, Any]) -> str:
    try:
        key_id = crypto.token_key_id(token)
    except crypto.CryptoError:
        logger.error("malformed ciphertext in %s.%s", target_of(instance), name)
        raise IntegrityFailed() from None
    entry = ciphers.get(key_id)
    if entry is _DESTROYED:
        return ERASED
    if entry is None:
        logger.error("%s.%s names unknown data key %s", target_of(instance), name, key_id)
        raise IntegrityFailed()
    cipher, subject = entry
    if subject != subject_of(instance):
        logger.error("%s.%s is encrypted with another subject's key", target_of(instance), name)
        raise IntegrityFailed()
    try:
        return cipher.decrypt(token, aad_of(instance, name)).decode()
    except crypto.CryptoError:
        logger.error("%s.%s does not authenticate", target_of(instance), name)
        raise IntegrityFailed() from None


def _token(instance: models.Model, name: str) -> str:
    return getattr(instance, field_of(instance, name).ciphertext) or ""


def pii_read_many(
    instances: Sequence[models.Model], names: Sequence[str]
) -> list[dict[str, str | None]]:
    """Clear values of several fields of several rows, with one key query. None for an empty
    field, ERASED for a destroyed key. Never shown to a person without `pii_reveal`."""
    tokens = [{name: _token(instance, name) for name in names} for instance in instances]
    key_ids = set()
    for row in tokens:
        for token in row.values():
            if token:
                with contextlib.suppress(crypto.CryptoError):  # reported by _decrypt
                    key_ids.add(crypto.token_key_id(token))
    ciphers = _ciphers(key_ids)
    return [
        {
            name: (_decrypt(instance, name, token, ciphers) if token else None)
            for name, token in row.items()
        }
        for instance, row in zip(instances, tokens, strict=True)
    ]


def pii_read(instance: models.Model, name: str) -> str | None:
    return pii_read_many([instance], [name])[0][name]


def masked(kind: str, value: str | None) -> str:
    if value is None:
        return ""
    if value == ERASED:
        return ERASED
    return mask(kind, value)


def pii_masked_many(
    instances: Sequence[models.Model], names: Sequence[str]
) -> list[dict[str, str]]:
    """Masked values for display (lists: one key query for the page)."""
    clear = pii_read_many(instances, names)
    return [
        {name: masked(field_of(instance, name).kind, row[name]) for name in names}
        for instance, row in zip(instances, clear, strict=True)
    ]


def pii_masked(instance: models.Model, name: str) -> str:
    return pii_masked_many([instance], [name])[0][name]


def index_of(model: type[models.Model] | models.Model, name: str, value: str, root: bytes) -> str:
    spec = field_of(model, name)
    return crypto.blind_index(root, index_purpose(model, name), spec.kind, value)


def pii_filter(queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
    """Rows whose field equals `value` after normalisation, found through the blind index."""
    spec = field_of(queryset.model, name)
    if spec.index is None:
        raise ValueError(f"protected field {name!r} has no blind index")
    root = blind_root_or_none()
    if root is None or not crypto.NORMALISERS[spec.kind](str(value)):
        return queryset.none()
    return queryset.filter(**{spec.index: index_of(queryset.model, name, value, root)})
