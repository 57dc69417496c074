"""{% load reconciliation %} {{ amount_minor|money:currency }}: kept by name for the
reconciliation templates, formatted by core (cpms/core/money.py: thousands separators and the
currency code). An integer argument is taken as the number of decimals (older callers that
passed an exponent); "—" stands for an unknown amount."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from cpms.core.money import format_minor
from cpms.reconciliation.selectors import bank_label as _bank_label

register = template.Library()


@register.filter
def money(value: Any, currency: Any = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(currency, int) or (isinstance(currency, str) and currency.isdigit()):
        return format_minor(int(value), "", places=int(currency), code=False)
    return format_minor(int(value), str(currency or ""))


@register.filter
def bank_label(account: Any) -> str:
    """The bank account as people name it (`selectors.bank_label`: never the ledger code)."""
    return _bank_label(account)


@register.simple_tag
def page_range(page: Any) -> str:
    """ "1–50 of 1,234" for a workspace page (numbers with thousands separators)."""
    return _("%(first)s–%(last)s of %(total)s") % {
        "first": f"{page.first:,}",
        "last": f"{page.last:,}",
        "total": f"{page.total:,}",
    }
