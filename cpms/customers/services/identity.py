"""Identity documents and possible duplicates: the blind-index key of a document, the claim that
makes one document belong to one customer (a unique row, so two registrations racing each other
cannot both win), the refusal naming an existing holder only to those who may see it, and the
look-alike search at registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from cpms.access.scopes import scoped
from cpms.core import crypto
from cpms.customers.choices import CustomerKind
from cpms.customers.errors import DuplicateIdentity
from cpms.customers.models import VIEW_PERMISSION, Customer, IdentityClaim
from cpms.customers.name_matching import name_matcher
from cpms.privacy.protected import field_of, index_of

# rows read per block (same phone, same birth date) when looking for possible duplicates
DUPLICATE_BLOCK = 500


def _blind_index(name: str, value: Any, root: bytes | None) -> str:
    """The blind index of a protected value, or "" (no value, nothing left once normalised, or
    no blind-index key yet)."""
    text = "" if value is None else str(value).strip()
    if root is None or not text or not crypto.NORMALISERS[field_of(Customer, name).kind](text):
        return ""
    return index_of(Customer, name, text, root)


def identity_key(identity_kind: str, identity_country: str, index: str) -> str:
    """The key of an identity document: its kind, issuing country (passports) and the blind
    index of its number. "" when there is no number."""
    return f"{identity_kind}:{identity_country or ''}:{index}" if index else ""


def _same_document(identity_kind: str, identity_country: str, index: str) -> Q:
    return Q(
        identity_number_index=index,
        identity_kind=identity_kind,
        identity_country=identity_country or "",
    )


def _visible_to(actor: Any, customers: list[Customer]) -> list[Customer]:
    """Those of `customers` the actor may view (a refusal names only these)."""
    if not customers:
        return []
    visible = set(
        scoped(
            Customer.objects.filter(pk__in=[customer.pk for customer in customers]),
            user=actor,
            permission=VIEW_PERMISSION,
        ).values_list("pk", flat=True)
    )
    return [customer for customer in customers if customer.pk in visible]


def _refuse_same_document(
    *, actor: Any, identity_kind: str, identity_country: str, index: str, exclude: Any = None
) -> None:
    """DuplicateIdentity when another customer has this document. The message names the
    customer only if the actor may see it; otherwise it names the branch to contact."""
    if not index:
        return
    existing = list(
        Customer.objects.filter(_same_document(identity_kind, identity_country, index))
        .exclude(pk=exclude)
        .select_related("branch")
        .order_by("pk")[:5]
    )
    if not existing:
        return
    visible = _visible_to(actor, existing)
    if visible:
        found = visible[0]
        raise DuplicateIdentity(
            _(
                "A customer with this ID number is already registered: %(number)s %(name)s. "
                "Open that customer instead of registering again."
            )
            % {"number": found.customer_number, "name": found.legal_name},
            existing=found,
            fields={"identity_number": _("Already registered.")},
        )
    raise DuplicateIdentity(
        _(
            "A customer with this ID number is already registered at another branch "
            "(%(branch)s). Contact that branch, or ask compliance to have the customer "
            "assigned to you, instead of registering again."
        )
        % {"branch": existing[0].branch.name},
        fields={"identity_number": _("Already registered at another branch.")},
    )


def possible_duplicates(
    *, values: Mapping[str, Any], phone_index: str, identity_index: str, exclude: Any = None
) -> list[Customer]:
    """Customers who look like the same person: a similar name (written or pinyin, the
    data-quality matching registered in `customers.name_matching`) and the same date of birth
    (individuals) or the same phone; or the same number on another kind of document. Blocked by
    indexes, never a scan of the table."""
    organisation = values["kind"] == CustomerKind.ORGANISATION
    blocks = Q(pk__in=[])
    if phone_index:
        blocks |= Q(phone_index=phone_index)
    if values.get("date_of_birth") and not organisation:
        blocks |= Q(date_of_birth=values["date_of_birth"], kind=CustomerKind.INDIVIDUAL)
    if identity_index:
        blocks |= Q(identity_number_index=identity_index)
    rows = list(
        Customer.objects.filter(blocks)
        .exclude(pk=exclude)
        .only(
            "pk",
            "kind",
            "legal_name",
            "name_pinyin",
            "customer_number",
            "identity_number_index",
            "branch_id",
            "relationship_manager_id",
        )
        .order_by("pk")[:DUPLICATE_BLOCK]
    )
    if not rows:
        return []
    alike = name_matcher(values["legal_name"], values["name_pinyin"], organisation=organisation)
    found = []
    for row in rows:
        if identity_index and row.identity_number_index == identity_index:
            found.append(row)
            continue
        if row.kind != values["kind"]:
            continue
        if alike(row.legal_name, row.name_pinyin):
            found.append(row)
    return found


def _claim_identity(customer: Customer, key: str, *, actor: Any) -> None:
    """Take the document's claim for `customer` (inside the caller's transaction). A claim held
    by a customer who still carries the document means a registration of the same document
    committed first: DuplicateIdentity. A stale claim (number changed since) is taken over."""
    if not key:
        return
    try:
        with transaction.atomic():
            IdentityClaim.objects.create(key=key, customer=customer)
        return
    except IntegrityError:
        pass
    claim = IdentityClaim.objects.select_for_update().select_related("customer").get(key=key)
    holder = claim.customer
    kind, country, index = key.split(":", 2)
    if holder.pk != customer.pk and (
        holder.identity_kind,
        holder.identity_country,
        holder.identity_number_index,
    ) == (kind, country, index):
        _refuse_same_document(
            actor=actor,
            identity_kind=kind,
            identity_country=country,
            index=index,
            exclude=customer.pk,
        )
        raise DuplicateIdentity(fields={"identity_number": _("Already registered.")})
    claim.customer = customer
    claim.save(update_fields=["customer"])


def _customer_identity_key(customer: Customer) -> str:
    """The key of the document the customer row carries now."""
    return identity_key(
        customer.identity_kind, customer.identity_country, customer.identity_number_index
    )


def identity_claim(customer: Customer, *, actor: Any) -> None:
    """Claim the customer's identity document (for writers other than customer_register, such
    as a bulk import creating rows itself): inside their transaction, after the row carries its
    blind index. Raises DuplicateIdentity when another customer holds the document."""
    _claim_identity(customer, _customer_identity_key(customer), actor=actor)


def _release_identity(customer: Customer) -> None:
    """Drop the customer's claims (before claiming a changed document)."""
    IdentityClaim.objects.filter(customer=customer).delete()
