"""Console forms of the custody lifecycle. They only parse; the services validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.core.forms import MoneyField, PickerField, clean_money
from cpms.custody.choices import (
    ConditionGrade,
    CountResult,
    CustodyCategory,
    IncidentKind,
    PhotoStage,
)
from cpms.custody.models import OPERATE_PERMISSION
from cpms.customers.selectors import customer_list
from cpms.holdings.forms import currency_choices, customer_label
from cpms.users.pickers import staff_queryset

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = forms.Textarea(attrs={"rows": 2})


class ReceiveForm(forms.Form):
    """Intake: the customer is picked by name within the user's scope (custody.operate), the
    declared value is typed in the currency's main unit ("800,000.00")."""

    customer = PickerField(
        "customer",
        label=_("Customer"),
        placeholder=_("Type the customer's name, pinyin or customer number"),
    )
    category = forms.ChoiceField(label=_("Category"), choices=CustodyCategory.choices)
    description = forms.CharField(label=_("Description"), max_length=300)
    serial = forms.CharField(label=_("Serial number"), max_length=120, required=False)
    condition_grade = forms.ChoiceField(label=_("Condition"), choices=ConditionGrade.choices)
    condition_notes = forms.CharField(
        label=_("Condition notes"), max_length=2000, required=False, widget=TEXT
    )
    location = forms.CharField(label=_("Location"), max_length=120)
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices(), initial="CNY")
    value = MoneyField(
        label=_("Declared value"),
        currency_field="currency",
        allow_zero=True,
        required=False,
        help_text=_("In the currency's main unit, e.g. 800,000.00. Leave empty if not valued."),
    )
    valued_on = forms.DateField(
        label=_("Valuation date"),
        required=False,
        widget=DATE,
        help_text=_("Today when a value is given and this is left empty."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["customer"]
        field.queryset = customer_list(user=user, permission=OPERATE_PERMISSION)
        field.label_from_instance = customer_label  # type: ignore[method-assign]
        field.set_extra(permission=OPERATE_PERMISSION)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        clean_money(self, "value")
        return cleaned

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["value_minor"] = data.pop("value", None)
        if data["value_minor"] is not None and data.get("valued_on") is None:
            data["valued_on"] = timezone.localdate()  # declared on intake
        return data


class PutAwayForm(forms.Form):
    location = forms.CharField(label=_("Storage location"), max_length=120, required=False)


class CheckOutForm(forms.Form):
    to_whom = forms.CharField(label=_("Checked out to"), max_length=200)
    purpose = forms.CharField(label=_("Purpose"), max_length=300)
    due_on = forms.DateField(label=_("Due back on"), widget=DATE)


class CheckInForm(forms.Form):
    condition_grade = forms.ChoiceField(
        label=_("Condition on return"), choices=ConditionGrade.choices
    )
    condition_notes = forms.CharField(
        label=_("Condition notes"), max_length=2000, required=False, widget=TEXT
    )
    location = forms.CharField(label=_("Storage location"), max_length=120, required=False)


class ReturnForm(forms.Form):
    collected_by = forms.CharField(label=_("Name of the person collecting"), max_length=200)
    id_checked = forms.BooleanField(label=_("Identity document checked"), required=False)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=TEXT)


class DisposeForm(forms.Form):
    consent_reference = forms.CharField(
        label=_("Customer's written consent (reference)"), max_length=120
    )
    method = forms.CharField(label=_("Method of disposal"), max_length=200)
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=TEXT)


class MoveForm(forms.Form):
    location = forms.CharField(label=_("New location"), max_length=120)
    custodian = PickerField(
        "staff",
        label=_("New custodian (optional)"),
        required=False,
        placeholder=_("Type a colleague's name"),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["custodian"].queryset = staff_queryset(user=user)


class FoundForm(forms.Form):
    location = forms.CharField(label=_("Location"), max_length=120)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class PhotoForm(forms.Form):
    file = forms.FileField(label=_("Photo"))
    stage = forms.ChoiceField(label=_("Stage"), choices=PhotoStage.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class IncidentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=IncidentKind.choices)
    description = forms.CharField(label=_("What happened"), max_length=2000, widget=TEXT)


class ResponseForm(forms.Form):
    response = forms.CharField(label=_("Customer's response"), max_length=2000, widget=TEXT)


class CloseForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), max_length=2000, widget=TEXT)


class StocktakeForm(forms.Form):
    location = forms.CharField(label=_("Location"), max_length=120)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class CountForm(forms.Form):
    item_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    result = forms.ChoiceField(
        label=_("Result"),
        choices=[
            (CountResult.FOUND, CountResult.FOUND.label),
            (CountResult.MISSING, CountResult.MISSING.label),
        ],
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
