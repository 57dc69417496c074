"""What a checker reads about a customer merge (`customers.merge`): both customers (name,
customer number, masked ID number, risk rating), which one survives, and why the pair was
found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cpms.approvals.context import ApprovalContext, rows
from cpms.customers.approval_context import customer_blocks, customers_by_id
from cpms.quality.choices import MatchReason
from cpms.quality.models import DuplicateCandidate
from cpms.quality.services import customers_merge_describe


def merge_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    found = customers_by_id([payload.get("survivor_id"), payload.get("merged_id")])
    survivor = found.get(payload.get("survivor_id"))
    merged = found.get(payload.get("merged_id"))
    warnings: list[str] = []
    if survivor is None or merged is None:
        warnings.append(_("A customer of this merge no longer exists."))
    pairs = [
        (customer, role)
        for customer, role in (
            (survivor, _("Kept (survivor)")),
            (merged, _("Merged into the survivor and closed")),
        )
        if customer is not None
    ]
    blocks = customer_blocks(
        [customer for customer, _role in pairs],
        viewer=viewer,
        roles=[role for _customer, role in pairs],
    )
    candidate = DuplicateCandidate.objects.filter(pk=payload.get("candidate_id")).first()
    reasons = ""
    score = ""
    if candidate is not None:
        labels = dict(MatchReason.choices)
        reasons = ", ".join(str(labels.get(code, code)) for code in candidate.reasons or [])
        score = str(candidate.score)
    if survivor is not None and merged is not None and survivor.risk_rating != merged.risk_rating:
        warnings.append(_("The two customers have different risk ratings."))
    return ApprovalContext(
        title=customers_merge_describe(dict(payload)),
        rows=rows(
            (_("Why they look the same"), reasons),
            (_("Match score"), score),
        ),
        customers=blocks,
        warnings=tuple(warnings),
    )
