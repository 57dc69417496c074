from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.access.choices import Scope
from cpms.access.models import Role
from cpms.core.permissions import PERMISSIONS
from cpms.users.models import Branch


def permission_choices() -> list[tuple[str, str]]:
    return [
        (permission.code, f"{permission.label} ({permission.code})") for permission in PERMISSIONS
    ]


class RoleForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=permission_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class GrantForm(forms.Form):
    role = forms.ModelChoiceField(
        label=_("Role"), queryset=Role.objects.filter(is_active=True), to_field_name="code"
    )
    scope = forms.ChoiceField(label=_("Scope"), choices=Scope.choices)
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.filter(is_active=True), required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class ConflictForm(forms.Form):
    first = forms.ChoiceField(label=_("Permission"), choices=permission_choices)
    second = forms.ChoiceField(label=_("Conflicting permission"), choices=permission_choices)
