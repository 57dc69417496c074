"""Console forms of the custody lifecycle. They only parse; the services validate."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.custody.choices import (
    ConditionGrade,
    CountResult,
    CustodyCategory,
    IncidentKind,
    PhotoStage,
)

DATE = forms.DateInput(attrs={"type": "date"})
TEXT = forms.Textarea(attrs={"rows": 2})


class ReceiveForm(forms.Form):
    customer_id = forms.IntegerField(label=_("Customer (id)"), min_value=1)
    category = forms.ChoiceField(label=_("Category"), choices=CustodyCategory.choices)
    description = forms.CharField(label=_("Description"), max_length=300)
    serial = forms.CharField(label=_("Serial number"), max_length=120, required=False)
    condition_grade = forms.ChoiceField(label=_("Condition"), choices=ConditionGrade.choices)
    condition_notes = forms.CharField(
        label=_("Condition notes"), max_length=2000, required=False, widget=TEXT
    )
    location = forms.CharField(label=_("Location"), max_length=120)
    value_minor = forms.IntegerField(
        label=_("Value (minor units, e.g. fen)"), min_value=0, required=False
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    valued_on = forms.DateField(label=_("Valuation date"), required=False, widget=DATE)


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
