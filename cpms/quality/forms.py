"""Console forms of the data-quality pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this not a duplicate?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class MergeForm(forms.Form):
    survivor = forms.TypedChoiceField(
        label=_("Customer that stays"), coerce=int, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason for the merge"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, candidate: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survivor"].choices = [
            (customer.pk, f"{customer.customer_number} {customer.legal_name}")
            for customer in (candidate.customer_a, candidate.customer_b)
        ]
