"""Every write of retail records: recording a purchase and recording a return or an exchange.

Each function checks the actor's permission and the customer's scope (`retail.manage`),
validates everything first and reports every wrong field at once (nothing is written on a
refusal), writes, runs the purchase hooks other apps registered (`retail.hooks`: loyalty
points) and records its audit entry, all in one transaction. Bulk import calls
`purchase_record` with a plain mapping per purchase."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

import pydantic
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.core.money import CURRENCY, format_minor
from cpms.customers.models import Customer
from cpms.retail import hooks
from cpms.retail.choices import Channel, ReturnKind, ReturnReason
from cpms.retail.errors import PurchaseExists
from cpms.retail.models import (
    MANAGE_PERMISSION,
    Purchase,
    PurchaseLine,
    PurchaseReturn,
    PurchaseReturnLine,
)
from cpms.retail.schemas import PurchaseData, ReturnData

OBJECT_TYPE = "retail.purchase"
STORE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
# clocks of tills and of this server differ a little; beyond this a time is "in the future"
CLOCK_TOLERANCE = datetime.timedelta(minutes=10)
LINE_FIELDS = (
    "line_number",
    "category",
    "sku",
    "description",
    "quantity",
    "unit_amount_minor",
    "amount_minor",
)


# --- helpers ------------------------------------------------------------------------------


def _parse(schema: type[pydantic.BaseModel], data: Any) -> Any:
    if isinstance(data, schema):
        return data
    try:
        return schema.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "data"
            fields.setdefault(name, error["msg"])
        raise ValidationFailed(_("Check the highlighted fields."), fields=fields) from None


def _aware(value: datetime.datetime) -> datetime.datetime:
    """A time without a zone is local time (Asia/Shanghai by default)."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def line_share(amount_minor: int, quantity: int, already: int, returning: int) -> int:
    """The value of `returning` more units of a line of `quantity` units costing `amount_minor`
    when `already` were returned before. Shares of a line always add up to its amount exactly
    (a discounted line is pro-rated without losing or creating a fen)."""
    return (amount_minor * (already + returning)) // quantity - (amount_minor * already) // quantity


def _customer(actor: Any, parsed: PurchaseData, errors: dict[str, str]) -> Customer | None:
    """The purchase's customer, if the actor may manage its purchases. Missing and out of scope
    give the same message, so scope does not leak existence."""
    customers = scoped(Customer.objects.all(), user=actor, permission=MANAGE_PERMISSION)
    if parsed.customer_id is not None:
        field, customer = "customer_id", customers.filter(pk=parsed.customer_id).first()
    elif parsed.customer_number:
        field = "customer_number"
        customer = customers.filter(customer_number=parsed.customer_number).first()
    else:
        errors["customer_id"] = _("Choose the customer.")
        return None
    if customer is None:
        errors[field] = _("No such customer among those you may record purchases for.")
        return None
    if parsed.customer_number and customer.customer_number != parsed.customer_number:
        errors["customer_number"] = _("The customer number does not match the customer.")
        return None
    return customer


def _check_purchase(
    parsed: PurchaseData, *, now: datetime.datetime, errors: dict[str, str]
) -> tuple[datetime.datetime, str, list[dict[str, Any]]]:
    """Validate the header and lines; return (purchased at, store code, line values)."""
    purchased_at = _aware(parsed.purchased_at)
    if purchased_at > now + CLOCK_TOLERANCE:
        errors["purchased_at"] = _("The purchase time is in the future.")
    store_code = parsed.store_code.upper()
    if parsed.channel == Channel.STORE and not store_code:
        errors["store_code"] = _("Give the store code for a purchase in a store.")
    elif store_code and not STORE_CODE.match(store_code):
        errors["store_code"] = _("Use letters, digits, '-' or '_' (at most 20).")
    if not CURRENCY.match(parsed.currency):
        errors["currency"] = _("Give a three-letter ISO 4217 currency code, e.g. CNY.")
    lines: list[dict[str, Any]] = []
    line_errors = False
    for index, line in enumerate(parsed.lines):
        full = line.quantity * line.unit_amount_minor
        amount = full if line.amount_minor is None else line.amount_minor
        if amount > full:
            errors[f"lines.{index}.amount_minor"] = _(
                "The line amount cannot exceed quantity × unit price (%(full)s)."
            ) % {"full": format_minor(full, parsed.currency)}
            line_errors = True
        if not line.sku and not line.description:
            errors[f"lines.{index}.description"] = _("Give a SKU or a description.")
        lines.append(
            {
                "line_number": index + 1,
                "category": line.category,
                "sku": line.sku,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount_minor": line.unit_amount_minor,
                "amount_minor": amount,
            }
        )
    total = sum(line["amount_minor"] for line in lines)
    if not line_errors and total != parsed.total_minor:
        errors["total_minor"] = _("The lines add up to %(sum)s, not to the total %(total)s.") % {
            "sum": format_minor(total, parsed.currency),
            "total": format_minor(parsed.total_minor, parsed.currency),
        }
    return purchased_at, store_code, lines


def purchase_snapshot(purchase: Purchase, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """What the audit trail keeps of a recorded purchase (no personal data in it)."""
    return {
        "reference": purchase.reference,
        "customer_id": purchase.customer_id,
        "purchased_at": purchase.purchased_at.isoformat(),
        "channel": purchase.channel,
        "store_code": purchase.store_code,
        "currency": purchase.currency,
        "total_minor": purchase.total_minor,
        "note": purchase.note,
        "lines": [{name: line[name] for name in LINE_FIELDS} for line in lines],
    }


# --- purchases ----------------------------------------------------------------------------


def purchase_record(*, actor: Any, data: PurchaseData | Mapping[str, Any]) -> Purchase:
    """Record a purchase with its lines. Raises ValidationFailed with one message per wrong
    field (`lines.<index>.<field>` for lines) or PurchaseExists for a known receipt number;
    nothing is written then."""
    require_permission(actor, MANAGE_PERMISSION)
    parsed = _parse(PurchaseData, data)
    now = timezone.now()
    errors: dict[str, str] = {}
    with transaction.atomic():
        customer = _customer(actor, parsed, errors)
        purchased_at, store_code, lines = _check_purchase(parsed, now=now, errors=errors)
        if errors:
            raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
        if Purchase.objects.filter(reference=parsed.reference).exists():
            raise _exists()
        try:
            with transaction.atomic():
                purchase = Purchase.objects.create(
                    customer=customer,
                    reference=parsed.reference,
                    purchased_at=purchased_at,
                    channel=parsed.channel,
                    store_code=store_code,
                    currency=parsed.currency,
                    total_minor=parsed.total_minor,
                    note=parsed.note,
                    recorded_by=actor,
                    recorded_at=now,
                )
        except IntegrityError:  # recorded concurrently by someone else
            raise _exists() from None
        PurchaseLine.objects.bulk_create(PurchaseLine(purchase=purchase, **line) for line in lines)
        hooks.purchase_recorded(actor=actor, purchase=purchase)
        audit_record(
            actor=actor,
            action=AuditAction.PURCHASE_RECORDED,
            object_type=OBJECT_TYPE,
            object_id=purchase.pk,
            after=purchase_snapshot(purchase, lines),
        )
    return purchase


def _exists() -> PurchaseExists:
    return PurchaseExists(
        fields={"reference": _("A purchase with this receipt number is already recorded.")}
    )


# --- returns and exchanges ----------------------------------------------------------------


def _returned_so_far(purchase: Purchase) -> tuple[dict[int, int], int]:
    """(returned quantity per line id, refunded amount) of a purchase."""
    quantities = dict(
        PurchaseReturnLine.objects.filter(line__purchase=purchase)
        .values("line_id")
        .annotate(total=Sum("quantity"))
        .values_list("line_id", "total")
    )
    refunded = purchase.returns.aggregate(total=Sum("refund_minor"))["total"] or 0
    return quantities, refunded


def _check_return_lines(
    parsed: ReturnData, purchase: Purchase, returned: dict[int, int], errors: dict[str, str]
) -> list[tuple[PurchaseLine, int, int]]:
    """The returned lines as (line, quantity, value); errors per `lines.<index>.<field>`."""
    lines = {line.line_number: line for line in purchase.lines.all()}
    seen: set[int] = set()
    items: list[tuple[PurchaseLine, int, int]] = []
    for index, item in enumerate(parsed.lines):
        line = lines.get(item.line_number)
        if line is None:
            errors[f"lines.{index}.line_number"] = _("This purchase has no line %(number)d.") % {
                "number": item.line_number
            }
            continue
        if item.line_number in seen:
            errors[f"lines.{index}.line_number"] = _("Line %(number)d is listed twice.") % {
                "number": item.line_number
            }
            continue
        seen.add(item.line_number)
        already = returned.get(line.pk, 0)
        left = line.quantity - already
        if item.quantity > left:
            errors[f"lines.{index}.quantity"] = _(
                "Only %(left)d of the %(bought)d units of line %(number)d can still be returned."
            ) % {"left": left, "bought": line.quantity, "number": line.line_number}
            continue
        value = line_share(line.amount_minor, line.quantity, already, item.quantity)
        items.append((line, item.quantity, value))
    return items


def _check_replacement(
    parsed: ReturnData, purchase: Purchase, errors: dict[str, str]
) -> Purchase | None:
    if not parsed.replacement_reference:
        return None
    if parsed.kind != ReturnKind.EXCHANGE:
        errors["replacement_reference"] = _("Only an exchange names a replacement purchase.")
        return None
    replacement = Purchase.objects.filter(
        reference=parsed.replacement_reference, customer_id=purchase.customer_id
    ).first()
    if replacement is None:
        errors["replacement_reference"] = _(
            "This customer has no purchase with this receipt number."
        )
    elif replacement.pk == purchase.pk:
        errors["replacement_reference"] = _("A purchase cannot replace itself.")
    return replacement if "replacement_reference" not in errors else None


def _return_time(
    parsed: ReturnData, purchase: Purchase, *, now: datetime.datetime, errors: dict[str, str]
) -> datetime.datetime:
    """When the return happened (now unless given): never before the purchase, never in the
    future beyond the clock tolerance."""
    returned_at = _aware(parsed.returned_at) if parsed.returned_at else now
    if returned_at < purchase.purchased_at:
        errors["returned_at"] = _("A return cannot predate the purchase (%(date)s).") % {
            "date": timezone.localtime(purchase.purchased_at).strftime("%Y-%m-%d %H:%M")
        }
    elif returned_at > now + CLOCK_TOLERANCE:
        errors["returned_at"] = _("The return time is in the future.")
    return returned_at


def _check_refund(
    parsed: ReturnData,
    purchase: Purchase,
    items: list[tuple[PurchaseLine, int, int]],
    refunded: int,
    errors: dict[str, str],
) -> None:
    """The refund never exceeds the value of the returned units nor what is left to refund
    (checked only once the lines are right, since the value depends on them)."""
    if any(name.startswith("lines.") for name in errors):
        return
    value = sum(item[2] for item in items)
    left = purchase.total_minor - refunded
    if parsed.refund_minor > value:
        errors["refund_minor"] = _(
            "The refund cannot exceed the value of the returned units (%(value)s)."
        ) % {"value": format_minor(value, purchase.currency)}
    elif parsed.refund_minor > left:
        errors["refund_minor"] = _("Only %(left)s is left to refund on this purchase.") % {
            "left": format_minor(left, purchase.currency)
        }


def _check_return(
    parsed: ReturnData, purchase: Purchase, *, now: datetime.datetime
) -> tuple[datetime.datetime, list[tuple[PurchaseLine, int, int]], Purchase | None]:
    """Validate a return against the (locked) purchase and what came back before; raise
    ValidationFailed with every wrong field. Returns (returned at, items, replacement)."""
    errors: dict[str, str] = {}
    returned, refunded = _returned_so_far(purchase)
    returned_at = _return_time(parsed, purchase, now=now, errors=errors)
    if parsed.reason == ReturnReason.OTHER and not parsed.note:
        errors["note"] = _("Say what happened when the reason is “other”.")
    items = _check_return_lines(parsed, purchase, returned, errors)
    _check_refund(parsed, purchase, items, refunded, errors)
    replacement = _check_replacement(parsed, purchase, errors)
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
    return returned_at, items, replacement


def _return_snapshot(
    record: PurchaseReturn,
    purchase: Purchase,
    replacement: Purchase | None,
    items: list[tuple[PurchaseLine, int, int]],
) -> dict[str, Any]:
    """What the audit trail keeps of a recorded return or exchange."""
    return {
        "return_id": record.pk,
        "kind": record.kind,
        "reason": record.reason,
        "note": record.note,
        "returned_at": record.returned_at.isoformat(),
        "refund_minor": record.refund_minor,
        "currency": purchase.currency,
        "replacement_reference": replacement.reference if replacement else "",
        "lines": [
            {"line_number": line.line_number, "quantity": quantity, "value_minor": value}
            for line, quantity, value in items
        ],
    }


def purchase_return(
    *, actor: Any, purchase: Purchase | int, data: ReturnData | Mapping[str, Any]
) -> PurchaseReturn:
    """Record a return (with a refund) or an exchange of some units of a purchase. Returned
    quantities never exceed what was bought minus what came back before; the refund never
    exceeds the value of the returned units nor what is left to refund; a return cannot
    predate the purchase. Raises NotFound outside the actor's scope, ValidationFailed with
    every wrong field otherwise; nothing is written on a refusal."""
    require_permission(actor, MANAGE_PERMISSION)
    parsed = _parse(ReturnData, data)
    now = timezone.now()
    with transaction.atomic():
        purchase = get_for_user(
            Purchase.objects.select_for_update(of=("self",)),
            user=actor,
            pk=getattr(purchase, "pk", purchase),
            permission=MANAGE_PERMISSION,
        )
        returned_at, items, replacement = _check_return(parsed, purchase, now=now)
        record = PurchaseReturn.objects.create(
            purchase=purchase,
            kind=parsed.kind,
            reason=parsed.reason,
            note=parsed.note,
            returned_at=returned_at,
            refund_minor=parsed.refund_minor,
            replacement=replacement,
            recorded_by=actor,
            recorded_at=now,
        )
        PurchaseReturnLine.objects.bulk_create(
            PurchaseReturnLine(
                purchase_return=record, line=line, quantity=quantity, value_minor=value
            )
            for line, quantity, value in items
        )
        hooks.return_recorded(actor=actor, purchase_return=record)
        audit_record(
            actor=actor,
            action=(
                AuditAction.PURCHASE_EXCHANGED
                if parsed.kind == ReturnKind.EXCHANGE
                else AuditAction.PURCHASE_RETURNED
            ),
            object_type=OBJECT_TYPE,
            object_id=purchase.pk,
            after=_return_snapshot(record, purchase, replacement, items),
        )
    return record
