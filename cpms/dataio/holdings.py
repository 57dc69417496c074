"""The holdings (property) dataset: columns, row validation, matching and export.

Natural key: owner customer number + kind + identifier. Writes go through the property
register's own services (`holding_register`, `holding_revalue`, `holding_update`), called by
`dataio.services` inside the import's transaction; nothing here writes."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from cpms.access.scopes import scoped
from cpms.customers.models import Customer
from cpms.dataio.choices import RowOutcome
from cpms.dataio.columns import (
    CellInvalid,
    Column,
    choice_lookup,
    given_values,
    normalise_header,
    parse_amount_minor,
    parse_date,
    text,
)
from cpms.dataio.messages import _
from cpms.holdings.choices import HoldingKind
from cpms.holdings.models import Holding

MANAGE_PERMISSION = "holdings.manage"
VIEW_PERMISSION = "holdings.view"
NOT_IMPORTED_KINDS = ("custody_item",)  # taken in through the custody lifecycle

COLUMNS: tuple[Column, ...] = (
    Column(
        "customer_number",
        "Customer number",
        "客户编号",
        ("owner", "客户号"),
        required=True,
        example="C00000001",
    ),
    Column(
        "kind", "Kind", "资产类型", ("类型", "property kind"), required=True, example="contract"
    ),
    Column(
        "identifier",
        "Identifier",
        "标识",
        ("编号", "reference", "合同编号", "序列号"),
        required=True,
        example="HT-2026-001",
    ),
    Column(
        "description",
        "Description",
        "描述",
        ("说明", "名称"),
        example="租赁合同",
        clearable=True,
    ),
    Column("value", "Value", "价值", ("金额", "估值", "amount"), example="12000.00"),
    Column("currency", "Currency", "币种", ("货币",), example="CNY"),
    Column("valued_on", "Valuation date", "估值日期", ("valued on",), example="2026-01-31"),
    Column("location", "Location", "存放地点", ("地点", "位置"), clearable=True),
)


@dataclass
class Row:
    number: int
    customer_number: str
    kind: str
    identifier: str
    given: dict[str, Any]


@dataclass
class Plan:
    row: Row
    outcome: str
    customer_id: int
    holding: Any  # the existing Holding, or None
    revalue: bool
    update: dict[str, Any]


def kind_lookup() -> dict[str, str]:
    return choice_lookup(HoldingKind)


def check_row(
    lookup: dict[str, str], number: int, values: dict[str, Any]
) -> tuple[Row | None, dict[str, str]]:
    errors: dict[str, str] = {}
    values = given_values(values, COLUMNS)  # blank keeps the stored value, "-" clears
    customer_number = text(values.get("customer_number"))
    if not customer_number:
        errors["customer_number"] = _("This value is required.")
    raw_kind = text(values.get("kind"))
    kind = lookup.get(normalise_header(raw_kind)) if raw_kind else None
    if kind is None:
        errors["kind"] = (
            _("Unknown value “%(value)s”.") % {"value": raw_kind[:40]}
            if raw_kind
            else _("This value is required.")
        )
    elif kind in NOT_IMPORTED_KINDS:
        errors["kind"] = _("Items in custody are taken in through the custody lifecycle.")
    identifier = text(values.get("identifier"))
    if not identifier:
        errors["identifier"] = _("This value is required.")
    elif len(identifier) > 120:
        errors["identifier"] = _("At most 120 characters.")
    given: dict[str, Any] = {}
    for name, limit in (("description", 300), ("location", 120)):
        if name in values:
            given[name] = text(values[name])
            if len(given[name]) > limit:
                errors[name] = _("At most %(count)s characters.") % {"count": limit}
    if "value" in values:
        try:
            given["value_minor"] = parse_amount_minor(values["value"])
        except CellInvalid as exc:
            errors["value"] = exc.args[0]
        if given.get("value_minor") is not None and given["value_minor"] < 0:
            errors["value"] = _("The value cannot be negative.")
    if "currency" in values:
        currency = text(values["currency"]).upper() or "CNY"
        if not (len(currency) == 3 and currency.isalpha()):
            errors["currency"] = _("Give a three-letter ISO 4217 currency code, e.g. CNY.")
        given["currency"] = currency
    if "valued_on" in values:
        try:
            given["valued_on"] = parse_date(values["valued_on"])
        except CellInvalid as exc:
            errors["valued_on"] = exc.args[0]
    if given.get("value_minor") is not None and "valued_on" not in errors:
        if given.get("valued_on") is None:
            errors["valued_on"] = _("Give the valuation date with the value.")
        elif given["valued_on"] > timezone.localdate():
            errors["valued_on"] = _("The valuation date cannot be in the future.")
    if errors:
        return None, errors
    return Row(number, customer_number, kind or "", identifier, given), errors


def plan_batch(actor: Any, rows: Sequence[Row]) -> tuple[list[Plan], list[tuple[int, str, str]]]:
    errors: list[tuple[int, str, str]] = []
    numbers = sorted({row.customer_number for row in rows})
    customers = dict(
        scoped(
            Customer.objects.filter(customer_number__in=numbers),
            user=actor,
            permission=MANAGE_PERMISSION,
        ).values_list("customer_number", "pk")
    )
    existing = {
        (holding.customer_id, holding.kind, holding.identifier): holding
        for holding in Holding.objects.filter(
            customer_id__in=list(customers.values()),
            identifier__in=sorted({row.identifier for row in rows}),
        )
    }
    plans = []
    for row in rows:
        customer_id = customers.get(row.customer_number)
        if customer_id is None:
            errors.append(
                (row.number, "customer_number", _("No customer with this number in your scope."))
            )
            continue
        holding = existing.get((customer_id, row.kind, row.identifier))
        if holding is None:
            plans.append(Plan(row, RowOutcome.CREATED, customer_id, None, False, {}))
            continue
        revalue = row.given.get("value_minor") is not None and (
            row.given["value_minor"],
            row.given.get("currency", holding.currency),
            row.given.get("valued_on"),
        ) != (holding.value_minor, holding.currency, holding.valued_on)
        update = {
            name: row.given[name]
            for name in ("description", "location")
            if name in row.given and row.given[name] != getattr(holding, name)
        }
        outcome = RowOutcome.UPDATED if revalue or update else RowOutcome.UNCHANGED
        plans.append(Plan(row, outcome, customer_id, holding, revalue, update))
    return plans, errors


def _amount(value_minor: int | None) -> str:
    if value_minor is None:
        return ""
    return format(Decimal(value_minor).scaleb(-2), "f")


def export_rows(holdings: Any, batch_size: int = 1000) -> Any:
    last = 0
    while True:
        batch = list(
            holdings.filter(pk__gt=last).select_related("customer").order_by("pk")[:batch_size]
        )
        if not batch:
            return
        last = batch[-1].pk
        for holding in batch:
            yield [
                holding.customer.customer_number,
                holding.kind,
                holding.identifier,
                holding.description,
                _amount(holding.value_minor),
                holding.currency,
                holding.valued_on if isinstance(holding.valued_on, datetime.date) else "",
                holding.location,
            ]


def example_row() -> list[str]:
    return [column.example for column in COLUMNS]
