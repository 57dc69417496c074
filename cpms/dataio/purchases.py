"""The purchases dataset: one row per purchase line, the receipt number repeated on each line of
a purchase (consecutive rows), grouped into one `retail.services.purchase_record` call.

Natural key: the receipt number. A purchase already recorded is left unchanged (purchases are
records of what happened; corrections are returns or exchanges). Nothing here writes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from cpms.dataio.columns import (
    CellInvalid,
    Column,
    choice_lookup,
    normalise_header,
    parse_amount_minor,
    parse_int,
    text,
)
from cpms.dataio.messages import _
from cpms.retail.choices import Channel

MANAGE_PERMISSION = "retail.manage"
VIEW_PERMISSION = "retail.view"

COLUMNS: tuple[Column, ...] = (
    Column(
        "reference",
        "Receipt number",
        "小票号",
        ("单号", "订单号", "reference"),
        required=True,
        example="R-2026-0001",
    ),
    Column(
        "customer_number",
        "Customer number",
        "客户编号",
        ("客户号",),
        required=True,
        example="C00000001",
    ),
    Column(
        "purchased_at",
        "Purchased at",
        "购买时间",
        ("购买日期", "日期", "date"),
        required=True,
        example="2026-01-31 14:30",
    ),
    Column("channel", "Channel", "渠道", (), required=True, example="store"),
    Column("store_code", "Store code", "门店代码", ("门店", "store"), example="S01"),
    Column("currency", "Currency", "币种", ("货币",), example="CNY"),
    Column("category", "Category", "品类", ("类别",), required=True, example="服装"),
    Column("sku", "SKU", "商品编码", ("货号",), example="SKU-1"),
    Column("description", "Description", "商品描述", ("描述", "商品名称"), example="衬衫"),
    Column("quantity", "Quantity", "数量", ("qty",), required=True, example="1"),
    Column("unit_price", "Unit price", "单价", ("price",), required=True, example="199.00"),
    Column("amount", "Amount", "金额", ("line amount", "小计"), example="199.00"),
)
HEADER_FIELDS = (
    "reference",
    "customer_number",
    "purchased_at",
    "channel",
    "store_code",
    "currency",
)
LINE_FIELDS = ("category", "sku", "description")


def channel_lookup() -> dict[str, str]:
    return choice_lookup(Channel, {"store": ("门店", "线下"), "online": ("线上", "网店")})


def parse_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time(12, 0))
    else:
        raw = text(value).replace("/", "-").replace("T", " ")
        moment = None
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                moment = datetime.datetime.strptime(raw, pattern)
                break
            except ValueError:
                continue
        if moment is None:
            raise CellInvalid(_("Not a date and time; write it as YYYY-MM-DD HH:MM."))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def check_row(
    channels: dict[str, str], values: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """One line: (purchase header fields, line fields) normalised, or the field errors."""
    errors: dict[str, str] = {}
    row: dict[str, Any] = {
        name: text(values.get(name, "")) for name in (*HEADER_FIELDS, *LINE_FIELDS)
    }
    row["currency"] = (row["currency"] or "CNY").upper()
    for name in ("reference", "customer_number", "category"):
        if not row[name]:
            errors[name] = _("This value is required.")
    raw_channel = row["channel"]
    row["channel"] = channels.get(normalise_header(raw_channel)) if raw_channel else None
    if row["channel"] is None:
        errors["channel"] = (
            _("Unknown value “%(value)s”.") % {"value": raw_channel[:40]}
            if raw_channel
            else _("This value is required.")
        )
    try:
        row["purchased_at"] = parse_datetime(values.get("purchased_at"))
    except CellInvalid as exc:
        errors["purchased_at"] = exc.args[0]
    try:
        row["quantity"] = parse_int(values.get("quantity"))
        if row["quantity"] is None:
            errors["quantity"] = _("This value is required.")
    except CellInvalid as exc:
        errors["quantity"] = exc.args[0]
    for name, target in (("unit_price", "unit_amount_minor"), ("amount", "amount_minor")):
        try:
            row[target] = parse_amount_minor(values.get(name))
        except CellInvalid as exc:
            errors[name] = exc.args[0]
    if "unit_price" not in errors and row.get("unit_amount_minor") is None:
        errors["unit_price"] = _("This value is required.")
    if errors:
        return None, errors
    return row, errors


def purchase_data(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The `retail.schemas.PurchaseData` mapping of one purchase's lines."""
    first = lines[0]
    items = []
    for line in lines:
        amount = line["amount_minor"]
        if amount is None:
            amount = line["quantity"] * line["unit_amount_minor"]
        items.append(
            {
                "category": line["category"],
                "sku": line["sku"],
                "description": line["description"],
                "quantity": line["quantity"],
                "unit_amount_minor": line["unit_amount_minor"],
                "amount_minor": amount,
            }
        )
    return {
        "customer_number": first["customer_number"],
        "reference": first["reference"],
        "purchased_at": first["purchased_at"],
        "channel": first["channel"],
        "store_code": first["store_code"],
        "currency": first["currency"],
        "total_minor": sum(item["amount_minor"] for item in items),
        "lines": items,
    }


def header_conflict(lines: list[dict[str, Any]], line: dict[str, Any]) -> str | None:
    """A line of the same receipt that disagrees on a purchase-level field."""
    for name in HEADER_FIELDS:
        if line[name] != lines[0][name]:
            return name
    return None


def _amount(value: int | None) -> str:
    return "" if value is None else format(Decimal(value).scaleb(-2), "f")


def export_rows(purchases: Any, batch_size: int = 500) -> Any:
    last = 0
    while True:
        batch = list(
            purchases.filter(pk__gt=last)
            .select_related("customer")
            .prefetch_related("lines")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return
        last = batch[-1].pk
        for purchase in batch:
            moment = timezone.localtime(purchase.purchased_at).strftime("%Y-%m-%d %H:%M:%S")
            for line in sorted(purchase.lines.all(), key=lambda item: item.line_number):
                yield [
                    purchase.reference,
                    purchase.customer.customer_number,
                    moment,
                    purchase.channel,
                    purchase.store_code,
                    purchase.currency,
                    line.category,
                    line.sku,
                    line.description,
                    line.quantity,
                    _amount(line.unit_amount_minor),
                    _amount(line.amount_minor),
                ]


def example_row() -> list[str]:
    return [column.example for column in COLUMNS]
