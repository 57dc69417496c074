"""Earn rules per currency: validation of everything a rule holds (rates, category multipliers,
tiers) and saving it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.points.choices import ADJUST_PERMISSION
from cpms.points.errors import InvalidRule
from cpms.points.models import PointsRule
from cpms.points.services._common import RULE_OBJECT

_TIER_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def rule_snapshot(rule: PointsRule) -> dict[str, Any]:
    """What the audit trail keeps of a rule."""
    return {
        "name": rule.name,
        "currency": rule.currency,
        "points_per_unit": rule.points_per_unit,
        "unit_minor": rule.unit_minor,
        "category_multipliers": dict(rule.category_multipliers or {}),
        "tiers": list(rule.tiers or []),
        "expiry_months": rule.expiry_months,
        "active": rule.active,
    }


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _clean_multiplier(value: Any) -> str | None:
    number = _decimal(value)
    if number is None or number < 0 or number > 100 or number.as_tuple().exponent < -4:
        return None
    return format(number.normalize(), "f")


def _clean_numbers(
    data: Mapping[str, Any], clean: dict[str, Any], problems: dict[str, str]
) -> None:
    """The name and the whole-number settings (rate, unit, lifetime in months)."""
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 120:
        problems["name"] = _("Give a name of at most 120 characters.")
    clean["name"] = name
    for key, low, high in (
        ("points_per_unit", 1, 1_000_000),
        ("unit_minor", 1, 1_000_000_000),
        ("expiry_months", 1, 120),
    ):
        number = _int_in(data.get(key), low, high)
        if number is None:
            problems[key] = _("Give a whole number from %(low)d to %(high)d.") % {
                "low": low,
                "high": high,
            }
        clean[key] = number


def _clean_categories(categories: Any, problems: dict[str, str]) -> dict[str, str]:
    """Category name -> multiplier (a decimal text); wrong pairs reported per category."""
    clean: dict[str, str] = {}
    if not isinstance(categories, Mapping):
        problems["category_multipliers"] = _("Give category: multiplier pairs.")
        return clean
    for category, value in categories.items():
        label = str(category).strip()
        multiplier = _clean_multiplier(value)
        if not label or len(label) > 60:
            problems[f"category_multipliers.{category}"] = _("A category is 1 to 60 characters.")
        elif multiplier is None:
            problems[f"category_multipliers.{label}"] = _(
                "The multiplier must be a decimal from 0 to 100 (at most 4 decimals)."
            )
        else:
            clean[label] = multiplier
    return clean


def _clean_tier(
    index: int, tier: Mapping[str, Any], seen: set[str], last: int, problems: dict[str, str]
) -> dict[str, Any]:
    """One tier: a unique code, a threshold above the previous one (the first at 0), a
    multiplier. Records its code in `seen`."""
    code = str(tier.get("code") or "").strip()
    threshold = _int_in(tier.get("threshold_minor"), 0, 10**15)
    multiplier = _clean_multiplier(tier.get("multiplier"))
    if not _TIER_CODE.match(code) or code in seen:
        problems[f"tiers.{index}.code"] = _(
            "A unique code of lower-case letters, digits, '_' or '-' (at most 32)."
        )
    if threshold is None:
        problems[f"tiers.{index}.threshold_minor"] = _(
            "Give the spend threshold in minor units (0 or more)."
        )
    elif index == 0 and threshold != 0:
        problems[f"tiers.{index}.threshold_minor"] = _("The first tier starts at 0.")
    elif threshold <= last:
        problems[f"tiers.{index}.threshold_minor"] = _(
            "Thresholds must rise from one tier to the next."
        )
    if multiplier is None:
        problems[f"tiers.{index}.multiplier"] = _(
            "The multiplier must be a decimal from 0 to 100 (at most 4 decimals)."
        )
    seen.add(code)
    return {
        "code": code,
        "name": str(tier.get("name") or code).strip()[:60],
        "threshold_minor": threshold,
        "multiplier": multiplier,
    }


def _clean_tiers(tiers: Any, problems: dict[str, str]) -> list[dict[str, Any]]:
    """The tiers in the order given (at least one); wrong fields reported per tier."""
    clean: list[dict[str, Any]] = []
    if not isinstance(tiers, Sequence) or isinstance(tiers, str) or not tiers:
        problems["tiers"] = _("Give at least one tier.")
        return clean
    seen: set[str] = set()
    last = -1
    for index, tier in enumerate(tiers):
        if not isinstance(tier, Mapping):
            problems[f"tiers.{index}"] = _("Each tier has a code, name, threshold and multiplier.")
            continue
        cleaned = _clean_tier(index, tier, seen, last, problems)
        if cleaned["threshold_minor"] is not None:
            last = cleaned["threshold_minor"]
        clean.append(cleaned)
    return clean


def _clean_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of a rule, validated; InvalidRule with every wrong field at once."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    _clean_numbers(data, clean, problems)
    clean["category_multipliers"] = _clean_categories(
        data.get("category_multipliers") or {}, problems
    )
    clean["tiers"] = _clean_tiers(data.get("tiers"), problems)
    clean["active"] = bool(data.get("active", True))
    if problems:
        raise InvalidRule(_("Check the highlighted fields."), fields=problems)
    return clean


def points_rule_save(*, actor: Any, currency: str, data: Mapping[str, Any]) -> PointsRule:
    """Create or change the earn rule of `currency` (`points.adjust`). Changes apply to
    purchases recorded afterwards; lots keep the basis they were earned on."""
    require_permission(actor, ADJUST_PERMISSION)
    code = (currency or "").strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidRule(fields={"currency": _("Give a three-letter ISO 4217 currency code.")})
    clean = _clean_rule(data)
    with transaction.atomic():
        rule = PointsRule.objects.select_for_update().filter(currency=code).first()
        before = rule_snapshot(rule) if rule else None
        if rule is None:
            rule = PointsRule(currency=code)
        for name, value in clean.items():
            setattr(rule, name, value)
        rule.updated_at = timezone.now()
        rule.updated_by = actor
        rule.save()
        audit_record(
            actor=actor,
            action=AuditAction.POINTS_RULE_SAVED,
            object_type=RULE_OBJECT,
            object_id=rule.pk,
            before=before,
            after=rule_snapshot(rule),
        )
    return rule
