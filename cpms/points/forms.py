"""Console forms of loyalty points: redemption, adjustment request, earn rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpms.core.forms import MoneyField
from cpms.core.money import format_minor, parse_major


class RedeemForm(forms.Form):
    points = forms.IntegerField(label=gettext_lazy("Points"), min_value=1)
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("e.g. the voucher or order the points pay for"),
    )


class AdjustForm(forms.Form):
    points = forms.IntegerField(
        label=gettext_lazy("Points (+ to add, - to take)"),
        help_text=gettext_lazy("Posted when a checker approves the request."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    points_per_unit = forms.IntegerField(label=gettext_lazy("Points per unit"), min_value=1)
    unit = MoneyField(
        label=gettext_lazy("Per amount spent"),
        help_text=gettext_lazy("E.g. 1.00: the points above are awarded per 1.00 spent"),
    )
    expiry_months = forms.IntegerField(
        label=gettext_lazy("Points expire after (months)"), min_value=1, max_value=120
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False)
    categories = forms.CharField(
        label=gettext_lazy("Category multipliers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One per line: category = multiplier, e.g. 数码 = 2"),
    )
    tiers = forms.CharField(
        label=gettext_lazy("Tiers"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One per line: code | name | 12-month spend from (major units) | multiplier; "
            "the first starts at 0"
        ),
    )

    def __init__(self, *args: Any, currency: str = "CNY", **kwargs: Any) -> None:
        self.currency = currency
        super().__init__(*args, **kwargs)
        self.fields["unit"].currency = currency

    @staticmethod
    def initial_for(rule: Any) -> dict[str, Any]:
        return {
            "name": rule.name,
            "points_per_unit": rule.points_per_unit,
            "unit": format_minor(rule.unit_minor, rule.currency, code=False),
            "expiry_months": rule.expiry_months,
            "active": rule.active,
            "categories": "\n".join(
                f"{name} = {value}" for name, value in (rule.category_multipliers or {}).items()
            ),
            "tiers": "\n".join(
                " | ".join(
                    (
                        str(tier["code"]),
                        str(tier.get("name", "")),
                        format_minor(int(tier["threshold_minor"]), "").replace(",", ""),
                        str(tier["multiplier"]),
                    )
                )
                for tier in (rule.tiers or [])
            ),
        }

    def clean_categories(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for number, raw in enumerate(self.cleaned_data.get("categories", "").splitlines(), 1):
            if not raw.strip():
                continue
            name, sep, value = raw.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise forms.ValidationError(
                    _("Line %(n)d: write category = multiplier.") % {"n": number}
                )
            result[name.strip()] = value.strip()
        return result

    def clean_tiers(self) -> list[dict[str, Any]]:
        tiers: list[dict[str, Any]] = []
        for number, raw in enumerate(self.cleaned_data.get("tiers", "").splitlines(), 1):
            if not raw.strip():
                continue
            parts = [part.strip() for part in raw.split("|")]
            if len(parts) != 4:
                raise forms.ValidationError(
                    _("Line %(n)d: write code | name | spend from | multiplier.") % {"n": number}
                )
            try:
                threshold = parse_major(parts[2], self.currency, allow_zero=True)
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)d: the spend threshold is not an amount.") % {"n": number}
                ) from None
            tiers.append(
                {
                    "code": parts[0],
                    "name": parts[1],
                    "threshold_minor": threshold,
                    "multiplier": parts[3],
                }
            )
        return tiers

    def rule_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "points_per_unit": data["points_per_unit"],
            "unit_minor": data["unit"],
            "expiry_months": data["expiry_months"],
            "active": data["active"],
            "category_multipliers": data["categories"],
            "tiers": data["tiers"],
        }
