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
    approval_request = forms.IntegerField(
        label=_("Approved request number (for personal data in clear)"),
        required=False,
        min_value=1,
    )
