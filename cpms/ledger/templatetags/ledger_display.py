"""{% load ledger_display %}: {{ account|account_label }}, {{ transfer|memo }} and
{{ amount|asset_money:asset }} for ledger pages (and any page that shows ledger rows)."""

from __future__ import annotations

from typing import Any

from django import template

from cpms.ledger import display

register = template.Library()


@register.filter
def account_label(account: Any) -> str:
    return display.account_label(account)


@register.filter
def memo(transfer: Any) -> str:
    return display.memo(transfer)


@register.filter
def asset_money(amount: Any, asset: Any) -> str:
    if amount is None or amount == "":
        return ""
    return display.money(int(amount), asset)
