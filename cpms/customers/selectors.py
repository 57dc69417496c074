"""Scoped reads of the customer registry. Every function takes the acting user first."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

from cpms.access.scopes import get_for_user, scoped
from cpms.audit.models import AuditEntry
from cpms.audit.selectors import entry_list
from cpms.core import crypto
from cpms.core.errors import NotFound
from cpms.customers import custom_fields
from cpms.customers.models import VIEW_PERMISSION, Consent, Customer, CustomFieldDefinition
from cpms.customers.validators import warning_text
from cpms.privacy.protected import blind_root_or_none, field_of, index_of, pii_masked_many

OBJECT_TYPE = "customers.customer"
MASKED_FIELDS = ("identity_number", "phone", "email", "address")
# something typed into the search box that may be an identity number or a phone number
_IDENTIFIER = re.compile(r"^[0-9A-Za-z+\-\s]{5,40}$")


def _exact_pii(q: str) -> Q | None:
    """Exact matches through the blind indexes (the clear value never reaches the database)."""
    root = blind_root_or_none()
    if root is None:
        return None
    names = (
        ["email"] if "@" in q else (["identity_number", "phone"] if _IDENTIFIER.match(q) else [])
    )
    condition: Q | None = None
    for name in names:
        spec = field_of(Customer, name)
        if not crypto.NORMALISERS[spec.kind](q):
            continue
        part = Q(**{spec.index: index_of(Customer, name, q, root)})
        condition = part if condition is None else condition | part
    return condition


def _looks_like_identifier(q: str) -> bool:
    """An email, or mostly digits (ID, passport, USCC, phone, customer number): then only the
    customer number and the blind indexes are searched, which indexes answer at once. A name
    search ("contains") would read every row in scope."""
    if "@" in q:
        return True
    if not _IDENTIFIER.match(q):
        return False
    compact = re.sub(r"[\s+\-]", "", q)
    return sum(character.isdigit() for character in compact) * 2 >= len(compact)


def customer_list(
    *,
    user: Any,
    q: str | None = None,
    status: str | None = None,
    branch: int | None = None,
    kind: str | None = None,
    permission: str = VIEW_PERMISSION,
) -> QuerySet[Customer]:
    """Customers the user may see. `q` matches the customer number, the name or its pinyin
    (full or initials, anywhere in it), or exactly an identity number, phone or email. Input
    that looks like an identifier (mostly digits, or an email) is matched exactly only."""
    customers = scoped(Customer.objects.all(), user=user, permission=permission)
    q = unicodedata.normalize("NFKC", q or "").strip()
    if q:
        condition = Q(customer_number=q.upper())
        exact = _exact_pii(q)
        if exact is not None:
            condition |= exact
        if _looks_like_identifier(q):
            # matched rows first (the number and index lookups), then the scope: otherwise
            # SQLite walks a manager's whole scope through its index instead
            matches = Customer.objects.filter(condition).values("pk")
            customers = customers.filter(pk__in=matches)
        else:
            condition |= Q(legal_name__icontains=q)
            compact = re.sub(r"\s+", "", q).lower()
            if compact.isascii() and compact.isalpha():
                condition |= Q(name_pinyin__icontains=compact)
            customers = customers.filter(condition)
    if status:
        customers = customers.filter(status=status)
    if branch:
        customers = customers.filter(branch_id=branch)
    if kind:
        customers = customers.filter(kind=kind)
    return customers.select_related("branch", "relationship_manager")


def customer_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Customer:
    """One customer; NotFound when it is missing or outside the user's scope."""
    return get_for_user(
        Customer.objects.select_related("branch", "relationship_manager"),
        user=user,
        pk=pk,
        permission=permission,
    )


def customer_masked(rows: Sequence[Customer]) -> list[dict[str, str]]:
    """Masked personal data of a page of customers (one key query)."""
    return pii_masked_many(list(rows), MASKED_FIELDS)


def consent_list(*, user: Any, customer: Customer) -> QuerySet[Consent]:
    """The consent history of a customer the caller already fetched through scope."""
    customer_get_for_user(user=user, pk=customer.pk)
    return customer.consents.select_related("granted_by", "withdrawn_by").order_by(
        "-granted_at", "-pk"
    )


def consent_get_for_user(*, user: Any, customer: Customer, pk: Any) -> Consent:
    consent = consent_list(user=user, customer=customer).filter(pk=pk).first()
    if consent is None:
        raise NotFound()
    return consent


def customer_history(*, user: Any, customer: Customer) -> QuerySet[AuditEntry]:
    """Audit entries about a customer (read-only), newest first."""
    customer_get_for_user(user=user, pk=customer.pk)
    return entry_list(
        user=user, filters={"object_type": OBJECT_TYPE, "object_id": str(customer.pk)}
    ).order_by("-pk")


# --- custom fields ------------------------------------------------------------------------


def custom_field_list(
    *, user: Any, kind: str | None = None, active: bool | None = None
) -> QuerySet[CustomFieldDefinition]:
    """Custom field definitions (configuration, not customer data: the caller checks
    customers.view or customers.configure), by kind, order and id."""
    definitions = CustomFieldDefinition.objects.all()
    if kind:
        definitions = definitions.filter(customer_kind=kind)
    if active is not None:
        definitions = definitions.filter(active=active)
    return definitions.order_by("customer_kind", "order", "pk")


def custom_field_get(*, user: Any, pk: Any) -> CustomFieldDefinition:
    definition = CustomFieldDefinition.objects.filter(pk=pk).first()
    if definition is None:
        raise NotFound()
    return definition


def customer_custom_values(*, user: Any, customer: Customer) -> list[dict[str, Any]]:
    """The customer's custom fields for the profile: every active definition of its kind in
    order (empty ones too), then stored values whose definition was retired (marked)."""
    definitions = list(custom_field_list(user=user, kind=customer.kind))
    stored = dict(customer.custom_fields or {})
    rows = []
    for definition in definitions:
        if not definition.active and definition.key not in stored:
            continue
        value = stored.pop(definition.key, None)
        rows.append(
            {
                "key": definition.key,
                "label": definition.label,
                "value": custom_fields.display(definition.field_type, value),
                "retired": not definition.active,
            }
        )
    for key, value in sorted(stored.items()):
        rows.append({"key": key, "label": key, "value": str(value), "retired": True})
    return rows


# --- duplicates and warnings --------------------------------------------------------------


def duplicate_confirmation(*, user: Any, customer: Customer) -> dict[str, Any] | None:
    """The possible-duplicate confirmation recorded at registration, for the profile: the
    reason, who confirmed and when, the customers it looked like that the user may see (the
    others only counted)."""
    recorded = customer.duplicate_confirmation or {}
    if not recorded:
        return None
    from django.contrib.auth import get_user_model
    from django.utils.dateparse import parse_datetime

    ids = [pk for pk in recorded.get("candidate_ids", []) if isinstance(pk, int)]
    visible = list(
        scoped(Customer.objects.filter(pk__in=ids), user=user, permission=VIEW_PERMISSION).order_by(
            "pk"
        )
    )
    person = (
        get_user_model()._default_manager.filter(pk=recorded.get("confirmed_by_id")).first()
        if recorded.get("confirmed_by_id")
        else None
    )
    return {
        "reason": recorded.get("reason", ""),
        "confirmed_by": (person.display_name or person.username) if person else "",
        "confirmed_at": parse_datetime(str(recorded.get("confirmed_at") or "")),
        "visible": visible,
        "elsewhere": max(0, len(ids) - len(visible)),
    }


def data_warnings(customer: Customer) -> list[str]:
    """The customer's data warnings as messages in the reader's language."""
    return [warning_text(warning) for warning in customer.data_warnings or []]
