from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.dataio.choices import Dataset, FileFormat


class ImportForm(forms.Form):
    dataset = forms.ChoiceField(label=_("Dataset"), choices=Dataset.choices)
    file = forms.FileField(label=_("File (CSV or XLSX)"))
    dry_run = forms.BooleanField(label=_("Dry run: validate only, write nothing"), required=False)


class ExportForm(forms.Form):
    dataset = forms.ChoiceField(label=_("Dataset"), choices=Dataset.choices)
    format = forms.ChoiceField(label=_("Format"), choices=FileFormat.choices)
    include_pii = forms.BooleanField(
        label=_("Include personal data in clear (needs permission to reveal it)"), required=False
    )
    reason = forms.CharField(
        label=_("Reason (for personal data in clear)"), required=False, max_length=2000
    )
    approval_request = forms.TypedChoiceField(
        label=_("Approved request (for personal data in clear)"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect(attrs={"class": "dataio-grant"}),
        help_text=_(
            "Your approved requests that are not used yet. Without one, asking for personal "
            "data in clear sends a request to a checker."
        ),
    )

    def __init__(self, *args: Any, grants: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the user's own approved, unused requests can be chosen: any other number is
        # refused by the form exactly like one that does not exist.
        self.fields["approval_request"].choices = [
            ("", _("None")),
            *((str(grant.pk), grant.description) for grant in grants),
        ]
