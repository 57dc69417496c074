from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.core.forms import MoneyField, clean_money
from cpms.core.money import format_major_input
from cpms.core.permissions import PERMISSIONS


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class PolicyForm(forms.Form):
    enabled = forms.BooleanField(label=_("Approval required"), required=False)
    approvers_required = forms.IntegerField(
        label=_("Approvers required"), min_value=1, max_value=10
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    threshold = MoneyField(
        label=_("Threshold"),
        currency_field="currency",
        allow_zero=True,
        required=False,
        help_text=_(
            "Only amounts above this (in the currency above, e.g. 50,000.00) need approval. "
            "Leave empty to always require it."
        ),
    )
    expiry_hours = forms.IntegerField(label=_("Expiry (hours)"), min_value=1, max_value=8760)
    approver_permission = forms.ChoiceField(label=_("Permission approvers need"), choices=())
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approver_permission"].choices = [
            (permission.code, f"{permission.code} · {permission.label}")
            for permission in PERMISSIONS
        ]

    @classmethod
    def initial_from(cls, snapshot: dict) -> dict:
        """The form's initial values from a policy snapshot (the threshold in main units)."""
        initial = dict(snapshot)
        minor = initial.pop("threshold_minor", None)
        currency = initial.get("currency") or ""
        initial["threshold"] = format_major_input(minor, currency) if minor is not None else ""
        return initial

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["currency"] = (cleaned.get("currency") or "").strip().upper()
        text = cleaned.get("threshold")
        if text not in (None, ""):
            if not cleaned["currency"]:
                self.add_error("currency", _("A threshold needs a currency."))
            else:
                clean_money(self, "threshold")
        return cleaned

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        threshold = data.pop("threshold", None)
        data["threshold_minor"] = threshold if isinstance(threshold, int) else None
        data["currency"] = (data.get("currency") or "").upper()
        return data
