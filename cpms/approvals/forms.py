from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.access.permissions import PERMISSIONS


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class PolicyForm(forms.Form):
    enabled = forms.BooleanField(label=_("Approval required"), required=False)
    approvers_required = forms.IntegerField(
        label=_("Approvers required"), min_value=1, max_value=10
    )
    threshold_minor = forms.IntegerField(
        label=_("Threshold (minor units)"),
        min_value=0,
        required=False,
        help_text=_("Only amounts above this need approval. Leave empty to always require it."),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
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

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        data["currency"] = (data.get("currency") or "").upper()
        return data
