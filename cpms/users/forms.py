"""Console forms for sign-in, two-factor, passwords and API tokens."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.users.scopes import scope_choices


class LoginForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, max_length=4096)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)


class ReauthForm(forms.Form):
    password = forms.CharField(label=_("Password"), strip=False, max_length=4096)
    code = forms.CharField(label=_("Code"), max_length=32, required=False)


class PasswordChangeForm(forms.Form):
    old = forms.CharField(label=_("Current password"), strip=False, max_length=4096)
    new = forms.CharField(label=_("New password"), strip=False, max_length=4096)
    confirm = forms.CharField(label=_("New password again"), strip=False, max_length=4096)

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("new") and cleaned.get("new") != cleaned.get("confirm"):
            self.add_error("confirm", _("The two new passwords differ."))
        return cleaned


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("What the token is for"), max_length=100, required=False)
    expires_days = forms.IntegerField(
        label=_("Lifetime in days"), min_value=1, max_value=3650, initial=90, required=False
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(scope, scope) for scope in scope_choices()],
        initial=["*:read"],
        widget=forms.CheckboxSelectMultiple,
    )


# ---------------------------------------------------------------- staff administration


def _branches():
    from cpms.users.models import Branch

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
        from cpms.access.models import Role

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
        from cpms.access.models import Role

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
