"""What a checker reads about a KYC verification (`customers.kyc_verify`): the customer (name,
customer number, masked ID number, risk rating), their KYC status now and the review dates
approving sets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import user_has_permission
from cpms.approvals.context import ApprovalContext, CustomerBlock, rows
from cpms.customers import selectors as customer_selectors
from cpms.customers.models import Customer
from cpms.customers.services import kyc_next_review


def kyc_verify_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    customer = customers_by_id([payload.get("customer_id")]).get(payload.get("customer_id"))
    name = str(payload.get("legal_name") or "—")
    number = str(payload.get("customer_number") or "—")
    warnings: list[str] = []
    blocks = ()
    status = next_review = reviewed = ""
    if customer is None:
        warnings.append(_("This customer no longer exists."))
    else:
        name, number = customer.legal_name, customer.customer_number
        blocks = customer_blocks([customer], viewer=viewer)
        status = str(customer.get_kyc_status_display())
        reviewed = customer.kyc_reviewed_at.isoformat() if customer.kyc_reviewed_at else ""
        try:
            # once verified (the request was carried out), "if approved" no longer applies
            if customer.kyc_status == "verified":
                raise ValueError
            next_review = kyc_next_review(timezone.localdate(), customer.risk_rating).isoformat()
        except Exception:
            next_review = ""
        if customer.risk_rating == "high":
            warnings.append(_("%(name)s is rated high risk.") % {"name": name})
    title = _("Verify the KYC of %(name)s (%(number)s)") % {"name": name, "number": number}
    return ApprovalContext(
        title=title,
        rows=rows(
            (_("KYC status now"), status),
            (_("Last reviewed"), reviewed),
            (_("Next review if approved"), next_review),
        ),
        customers=blocks,
        warnings=tuple(warnings),
    )


def customer_blocks(
    customers: Iterable[Any], *, viewer: Any, roles: Sequence[str] = ()
) -> tuple[CustomerBlock, ...]:
    """Blocks for customers already loaded (masked ID numbers with one key query); a link only
    to the customers the viewer may open (one scoped query)."""
    found = [customer for customer in customers if customer is not None]
    if not found:
        return ()
    masked = customer_selectors.customer_masked(found)
    openable: set[int] = set()
    if (
        viewer is not None
        and getattr(viewer, "is_authenticated", False)
        and user_has_permission(viewer, "customers.view")
    ):
        try:
            openable = set(
                customer_selectors.customer_list(user=viewer)
                .filter(pk__in=[customer.pk for customer in found])
                .values_list("pk", flat=True)
            )
        except Exception:  # a scope that cannot be read: no links
            openable = set()
    blocks = []
    for index, (customer, hidden) in enumerate(zip(found, masked, strict=True)):
        blocks.append(
            CustomerBlock(
                name=customer.legal_name,
                customer_number=customer.customer_number,
                masked_id=hidden.get("identity_number", "") or "",
                risk_rating=str(customer.get_risk_rating_display()),
                risk_code=str(customer.risk_rating),
                role=str(roles[index]) if index < len(roles) else "",
                url=reverse("customers:detail", args=[customer.pk])
                if customer.pk in openable
                else "",
            )
        )
    return tuple(blocks)


def customers_by_id(ids: Iterable[Any]) -> dict[int, Any]:
    """Customers by id (with their branch), ignoring ids that are not numbers."""
    keys = set()
    for value in ids:
        try:
            keys.add(int(value))
        except (TypeError, ValueError):
            continue
    if not keys:
        return {}
    return {customer.pk: customer for customer in Customer.objects.filter(pk__in=keys)}
