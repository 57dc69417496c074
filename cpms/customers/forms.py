"""Console forms. They only parse; the service validates identifiers and scope."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    CustomerKind,
    CustomerStatus,
    IdentityKind,
    KycStatus,
    RiskRating,
)
from cpms.users.models import Branch

PROTECTED_INPUTS = ("identity_number", "phone", "email", "address")


class CustomerForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    legal_name = forms.CharField(label=_("Legal name"), max_length=200)
    identity_kind = forms.ChoiceField(label=_("Identity document"), choices=IdentityKind.choices)
    identity_number = forms.CharField(label=_("Document number"), max_length=64)
    identity_country = forms.CharField(
        label=_("Issuing country (passport)"), max_length=3, required=False
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Taken from a resident ID number when left empty."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    address = forms.CharField(
        label=_("Address"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    branch_id = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.filter(is_active=True).order_by("code")
    )
    relationship_manager_id = forms.IntegerField(
        label=_("Relationship manager (user id)"), required=False
    )
    kyc_status = forms.ChoiceField(label=_("KYC status"), choices=KycStatus.choices)
    kyc_reviewed_at = forms.DateField(
        label=_("KYC reviewed on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    risk_rating = forms.ChoiceField(label=_("Risk rating"), choices=RiskRating.choices)
    segment = forms.CharField(label=_("Segment"), max_length=50, required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas."))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            del self.fields["kind"]
            for name in PROTECTED_INPUTS:
                self.fields[name].required = False
                self.fields[name].help_text = _(
                    "Stored encrypted and not shown here; leave empty to keep it."
                )

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        branch = data.pop("branch_id", None)
        data["branch_id"] = branch.pk if branch is not None else None
        data["tags"] = [tag for tag in (data.get("tags") or "").split(",") if tag.strip()]
        if self.editing:
            for name in PROTECTED_INPUTS:
                if not data.get(name):
                    data.pop(name, None)
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=CustomerStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)


class ConsentWithdrawForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
