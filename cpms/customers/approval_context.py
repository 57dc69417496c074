"""What a checker reads about a KYC verification (`customers.kyc_verify`): the customer (name,
customer number, masked ID number, risk rating), their KYC status now and the review dates
approving sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.approvals.context import ApprovalContext, customer_blocks, customers_by_id, rows


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
        from cpms.customers.services import kyc_next_review

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
