"""Forms of the console's staff administration (list filters, new staff with roles, edit,
actions). Roles come from this layer; branches and accounts from `users`."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.access.models import Role
from cpms.users.models import Branch


def _branches():
    return Branch.objects.filter(is_active=True).order_by("name", "code")


class BranchChoiceField(forms.ModelChoiceField):
    """A branch picked by its name (the code in brackets tells two alike names apart)."""

    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.code})"


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(obj.display_name)


class StaffFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or user name"), max_length=100, required=False)
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=None, required=False, empty_label=_("Any branch")
    )
    role = forms.ChoiceField(label=_("Role"), required=False)
    active = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Active and inactive")), ("1", _("Active")), ("0", _("Inactive"))],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _branches()
        self.fields["branch"].label_from_instance = lambda obj: obj.name
        self.fields["role"].choices = [("", _("Any role"))] + [
            (role.code, str(role.display_name)) for role in Role.objects.order_by("code")
        ]


class StaffCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("User name"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={
            "invalid": _("Use letters, digits and @ . + - _ only, without spaces."),
        },
    )
    display_name = forms.CharField(label=_("Display name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), required=False)
    branch = BranchChoiceField(label=_("Branch"), queryset=None, required=False)
    roles = RoleChoiceField(
        label=_("Roles"),
        queryset=None,
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each role is requested like any other grant: a checker may have to approve."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _branches()
        self.fields["roles"].queryset = (
            Role.objects.filter(is_active=True).exclude(code="customer").order_by("code")
        )


class StaffEditForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), required=False)
    branch = BranchChoiceField(label=_("Branch"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _branches()


class StaffActionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
