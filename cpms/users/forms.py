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
