"""What a checker reads about disposing of an item in custody (`holdings.dispose`): the item,
its value, the customer who owns it, their consent reference and the method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cpms.approvals.context import ApprovalContext, rows
from cpms.core.money import format_minor
from cpms.custody.models import CustodyItem
from cpms.customers.approval_context import customer_blocks


def dispose_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    item = (
        CustodyItem.objects.select_related("holding__customer")
        .filter(pk=payload.get("item_id"))
        .first()
    )
    number = str(payload.get("holding_number") or "")
    description = str(payload.get("description") or "")
    warnings: list[str] = []
    value = ""
    blocks = ()
    if item is None:
        warnings.append(_("This item is no longer in custody records."))
    else:
        holding = item.holding
        number = holding.holding_number
        description = holding.description or holding.identifier
        if holding.value_minor is not None:
            value = format_minor(holding.value_minor, holding.currency)
        blocks = customer_blocks([holding.customer], viewer=viewer, roles=[_("Owner")])
        for block in blocks:
            if block.risk_code == "high":
                warnings.append(_("%(name)s is rated high risk.") % {"name": block.name})
    title = _("Dispose of %(number)s %(description)s") % {
        "number": number,
        "description": description,
    }
    return ApprovalContext(
        title=title.strip(),
        amount=value,
        rows=rows(
            (_("Property number"), number),
            (_("Description"), description),
            (_("Category"), item.get_category_display() if item is not None else ""),
            (_("Serial number"), item.serial if item is not None else ""),
            (_("State"), item.get_state_display() if item is not None else ""),
            (_("Customer's consent reference"), payload.get("consent_reference") or ""),
            (_("Method"), payload.get("method") or ""),
        ),
        customers=blocks,
        warnings=tuple(warnings),
    )
