"""Console forms. They only parse; the service checks the file's content, scope and rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.documents.choices import Classification, RetentionClass


class UploadForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer number"), max_length=40, help_text=_("For example C00000001.")
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    classification = forms.ChoiceField(
        label=_("Classification"), choices=Classification.choices, initial=Classification.INTERNAL
    )
    retention_class = forms.ChoiceField(label=_("Retention class"), choices=RetentionClass.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "PDF, PNG, JPEG, TIFF, Word (.docx), Excel (.xlsx), or plain text / CSV in UTF-8."
        ),
    )


class DocumentEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    classification = forms.ChoiceField(label=_("Classification"), choices=Classification.choices)
    retention_class = forms.ChoiceField(label=_("Retention class"), choices=RetentionClass.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class VersionForm(forms.Form):
    file = forms.FileField(label=_("New version"))


class LinkForm(forms.Form):
    holding = forms.IntegerField(label=_("Property item"), widget=forms.Select)
