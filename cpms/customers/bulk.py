"""Bulk writes of customers, for a caller that validated whole batches itself (the bulk import
of `cpms.dataio`): `customers_bulk_create` and `customers_bulk_update`.

Why not `customer_register` / `customer_update` row by row: an import writes hundreds of
thousands of rows in one transaction, and per-row services cost a dozen queries each. These
services write one batch with a handful of statements (prepared INSERT / UPDATE executed for
every row, primary keys allocated up front) and still record what the per-row services record:
one data key per customer with personal data, ciphertexts and blind indexes (as `pii_assign`
does), the identity-document claims, and one audit entry per created, updated or reassigned
customer (`customer.created`, `customer.updated`, `customer.assigned`).

The caller owns the transaction (the import is all or nothing: a batch written before a later
invalid row must roll back with it) and has already checked permissions, scope and every field
rule; these services trust their rows and check nothing but the identity claims, which collide
when a registration of the same document committed meanwhile."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import crypto
from cpms.core.bulk import EXECUTE_CHUNK, insert_rows, update_rows
from cpms.customers.choices import CustomerStatus
from cpms.customers.errors import DuplicateIdentity
from cpms.customers.models import Customer, IdentityClaim
from cpms.customers.services import identity_claim, identity_key
from cpms.customers.services._common import AUDITED_FIELDS as _COMMON_AUDITED
from cpms.customers.services._common import OBJECT_TYPE, PROTECTED
from cpms.customers.services.register import _audit_update
from cpms.privacy import keys as privacy_keys
from cpms.privacy import services as privacy_services
from cpms.privacy.errors import SubjectErased
from cpms.privacy.models import DataKey

# The audit view of a bulk-written customer (custom fields are never written in bulk).
AUDITED_FIELDS = tuple(name for name in _COMMON_AUDITED if name != "custom_fields")
# The plain (not protected) fields a bulk row may set.
PLAIN_FIELDS = (
    "kind",
    "legal_name",
    "identity_kind",
    "identity_country",
    "date_of_birth",
    "branch_id",
    "relationship_manager_id",
    "kyc_status",
    "kyc_reviewed_at",
    "kyc_next_review_at",
    "risk_rating",
    "segment",
    "tags",
    "name_pinyin",
)
# Identifiers whose change replaces the stored warnings about them.
_IDENTIFIERS = frozenset({"identity_number", "identity_kind", "phone", "email"})
_DOCUMENT = frozenset({"identity_number", "identity_kind"})

_TABLE = Customer._meta.db_table
_CIPHER_COLUMNS = {
    name: Customer._meta.get_field(spec.ciphertext).column
    for name, spec in Customer.pii.fields.items()
}


class BulkKeys(Protocol):
    """The caller's keys, cached for a whole import: `index(name, value)` is the blind index of
    a protected field's value ("" for none), `digest(value)` the keyed digest of a value that
    audit snapshots show instead of personal data."""

    digest: Callable[[str], str]

    def index(self, name: str, value: str) -> str: ...


@dataclass
class NewCustomer:
    """A validated row for a new customer: every plain field as stored (`values`), every
    protected field in clear (`pii`, None for none) and the identifier warnings to keep."""

    values: dict[str, Any]
    pii: dict[str, str | None]
    warnings: list[dict[str, str]]


@dataclass
class CustomerChange:
    """A validated change of an existing customer (`customer` as read, unchanged yet): every
    plain field as it will be (`values`), every protected field as it will be (`pii`) and as
    it was (`before_pii`), the names that differ (`changed`) and the row's warnings."""

    customer: Customer
    values: dict[str, Any]
    pii: dict[str, str | None]
    before_pii: dict[str, str | None]
    changed: list[str]
    warnings: list[dict[str, str]]


# --- services -------------------------------------------------------------------------------


def customers_bulk_create(
    *,
    actor: Any,
    rows: Sequence[NewCustomer],
    keys: BulkKeys,
    reason: str,
    now: datetime.datetime | None = None,
) -> list[Customer]:
    """Create one batch of customers inside the caller's transaction: numbers from their
    primary keys, a data key for each customer with personal data, one INSERT per batch, the
    identity claims, and one `customer.created` entry each. Raises DuplicateIdentity when a
    document was claimed meanwhile (the caller's transaction must then roll back)."""
    _require_transaction()
    if not rows:
        return []
    now = now or timezone.now()
    pks = _allocate_ids(len(rows))
    keyed = [pk for pk, row in zip(pks, rows, strict=True) if any(row.pii.values())]
    ciphers = _data_keys_create(keyed)
    customers = []
    for pk, row in zip(pks, rows, strict=True):
        customer = Customer(
            pk=pk,
            customer_number=f"C{pk:08d}",
            created_at=now,
            updated_at=now,
            status=CustomerStatus.ACTIVE,
            status_changed_at=now,
            data_warnings=row.warnings,
            **row.values,
        )
        _encrypt(keys, customer, row.pii, ciphers.get(pk))
        customers.append(customer)
    insert_rows(Customer, customers)
    _identities_claim(customers)
    for customer, row in zip(customers, rows, strict=True):
        after = _snapshot(keys, customer, row.pii)
        after["warnings"] = [f"{w['field']}:{w['code']}" for w in row.warnings]
        if customer.pk in ciphers:
            after["data_key_id"] = ciphers[customer.pk].key_id
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_CREATED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            after=after,
            pii_fields=PROTECTED,
            reason=reason,
        )
    return customers


def customers_bulk_update(
    *,
    actor: Any,
    rows: Sequence[CustomerChange],
    keys: BulkKeys,
    reason: str,
    now: datetime.datetime | None = None,
) -> None:
    """Apply one batch of changes inside the caller's transaction: one prepared UPDATE of the
    changed columns, a changed identity document takes its claim (DuplicateIdentity when
    another customer holds it), then `customer.updated` for profile changes and
    `customer.assigned` for a new branch or relationship manager."""
    _require_transaction()
    if not rows:
        return
    now = now or timezone.now()
    ciphers = _update_ciphers(rows)
    fields: set[str] = {"updated_at"}
    entries = [_change_apply(keys, row, ciphers, fields, now=now) for row in rows]
    update_rows(Customer, [row.customer for row in rows], sorted(fields))
    for row in rows:
        if _DOCUMENT & set(row.changed):
            identity_claim(row.customer, actor=actor)  # a changed document takes its claim
    for customer, before, after, differing in entries:
        _audit_update(
            actor=actor,
            customer=customer,
            before=before,
            after=after,
            differing=differing,
            reason=reason,
        )


# --- steps of the services ------------------------------------------------------------------


def _require_transaction() -> None:
    """The bulk services write several statements per batch and allocate primary keys under
    the write lock of the caller's transaction: outside one they would leave half a batch."""
    if not connection.in_atomic_block:
        raise RuntimeError("customers bulk writes run inside the caller's transaction")


def _identities_claim(customers: list[Customer]) -> None:
    """The identity claims of new customers (one row per document, unique), in the caller's
    transaction: a registration of the same document committed meanwhile makes the whole
    batch fail (DuplicateIdentity) instead of leaving two customers with one document."""
    claims = []
    for customer in customers:
        key = identity_key(
            customer.identity_kind, customer.identity_country, customer.identity_number_index
        )
        if key:
            claims.append(IdentityClaim(key=key, customer=customer))
    try:
        with transaction.atomic():
            IdentityClaim.objects.bulk_create(claims, batch_size=EXECUTE_CHUNK)
    except IntegrityError:
        raise DuplicateIdentity() from None


def _update_ciphers(rows: Sequence[CustomerChange]) -> dict[int, crypto.FieldCipher]:
    """The data-key ciphers of the customers whose new personal data must be encrypted; a
    customer without a key yet gets one (one whose key was destroyed stays without: erased)."""
    need_keys = [
        row.customer.pk
        for row in rows
        if any(row.pii[name] for name in row.changed if name in PROTECTED)
    ]
    ciphers = _existing_ciphers(need_keys)
    missing = [pk for pk in need_keys if pk not in ciphers]
    if missing:
        known = set(
            DataKey.objects.filter(
                subject_type=OBJECT_TYPE, subject_id__in=[str(pk) for pk in missing]
            ).values_list("subject_id", flat=True)
        )
        ciphers.update(_data_keys_create([pk for pk in missing if str(pk) not in known]))
    return ciphers


def _change_apply(
    keys: BulkKeys,
    row: CustomerChange,
    ciphers: dict[int, crypto.FieldCipher],
    fields: set[str],
    *,
    now: datetime.datetime,
) -> tuple[Customer, dict[str, Any], dict[str, Any], list[str]]:
    """Set one change onto its customer (not saved; the names written are added to `fields`)
    and return the customer with its audit snapshots before and after and what differs."""
    customer = row.customer
    before = _snapshot(keys, customer, row.before_pii)
    for name in PLAIN_FIELDS:
        if name in row.changed:
            setattr(customer, name, row.values[name])
            fields.add(name)
    touched = {name: row.pii[name] for name in row.changed if name in row.pii}
    if touched:
        fields.update(_encrypt(keys, customer, touched, ciphers.get(customer.pk)))
    identifiers = _IDENTIFIERS & set(row.changed)
    if identifiers or row.warnings:
        kept = [w for w in customer.data_warnings if w.get("field") not in identifiers]
        customer.data_warnings = kept + [w for w in row.warnings if w not in kept]
        fields.add("data_warnings")
    customer.updated_at = now
    after = _snapshot(keys, customer, {**row.before_pii, **row.pii})
    differing = [name for name in after if after[name] != before[name]]
    return customer, before, after, differing


# --- personal data --------------------------------------------------------------------------


def _existing_ciphers(pks: list[int]) -> dict[int, crypto.FieldCipher]:
    """The ciphers of the customers' data keys that exist and are not destroyed."""
    ciphers: dict[int, crypto.FieldCipher] = {}
    rows = DataKey.objects.filter(
        subject_type=OBJECT_TYPE, subject_id__in=[str(pk) for pk in pks]
    ).values_list("subject_id", "key_id", "wrapped_key", "destroyed_at")
    for subject_id, key_id, wrapped, destroyed_at in rows:
        if destroyed_at is not None:
            continue
        ciphers[int(subject_id)] = privacy_keys.data_cipher(
            key_id=key_id, wrapped=wrapped, subject_type=OBJECT_TYPE, subject_id=subject_id
        )
    return ciphers


def _encrypt(
    keys: BulkKeys,
    customer: Customer,
    values: dict[str, str | None],
    cipher: crypto.FieldCipher | None,
) -> list[str]:
    """Ciphertext and blind index of each value onto the row (as `pii_assign` does); returns
    the attribute names set. A value for a customer without a data key: SubjectErased."""
    changed = []
    row_key = str(customer.pk)
    for name, value in values.items():
        spec = Customer.pii.fields[name]
        text = "" if value is None else str(value).strip()
        token = index = ""
        if text:
            if cipher is None:
                raise SubjectErased()
            token = cipher.encrypt(
                text, crypto.associated_data(_TABLE, _CIPHER_COLUMNS[name], row_key)
            )
            if spec.index is not None:
                index = keys.index(name, text)
        setattr(customer, spec.ciphertext, token)
        changed.append(spec.ciphertext)
        if spec.index is not None:
            setattr(customer, spec.index, index)
            changed.append(spec.index)
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _snapshot(
    keys: BulkKeys, customer: Customer, pii: dict[str, str | None], names: Any = None
) -> dict[str, Any]:
    """The registry's audit view of a customer: plain fields, personal data as keyed digests."""
    wanted = AUDITED_FIELDS if names is None else names
    snapshot = {name: _plain(getattr(customer, name)) for name in wanted if name in AUDITED_FIELDS}
    for name in PROTECTED:
        if names is None or name in names:
            value = pii.get(name)
            snapshot[name] = "hmac-sha256:" + keys.digest(value) if value else ""
    return snapshot


# --- raw SQL --------------------------------------------------------------------------------


def _allocate_ids(count: int) -> list[int]:
    """Primary keys for new customers, taken before the insert so the customer number, the
    data key's subject and the ciphertexts' associated data are known up front (one INSERT per
    batch, no UPDATE). PostgreSQL: the identity sequence; SQLite: above the largest id ever
    used, under the write lock the transaction already holds."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [_TABLE, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{_TABLE}"')  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [_TABLE])
        found = cursor.fetchone()
        if found is not None:
            top = max(top, found[0])
    return list(range(top + 1, top + 1 + count))


def _data_keys_create(pks: list[int]) -> dict[int, crypto.FieldCipher]:
    """One data key per new customer, made by privacy in one INSERT; their creation is recorded
    in each customer's `customer.created` entry."""
    made = privacy_services.data_keys_bulk_create(
        subject_type=OBJECT_TYPE, subject_ids=[str(pk) for pk in pks]
    )
    return {int(subject_id): cipher for subject_id, cipher in made.items()}
