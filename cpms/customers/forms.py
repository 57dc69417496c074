"""Console forms. They only parse; the service validates identifiers and scope."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpms.core.forms import PickerField
from cpms.customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    CustomerKind,
    CustomerStatus,
    CustomFieldType,
    IdentityKind,
    KycStatus,
    RiskRating,
)
from cpms.customers.pickers import relationship_manager_queryset
from cpms.customers.segments import segment_choices
from cpms.users.models import Branch

PROTECTED_INPUTS = ("identity_number", "phone", "email", "address")
DUPLICATE_INPUTS = ("confirm_possible_duplicate", "duplicate_reason")
CUSTOM_PREFIX = "cf_"
BLANK_CHOICE = ("", "—")


def custom_input_name(kind: str, key: str) -> str:
    """The form field of a custom field: `cf_<kind>__<key>` (both kinds share the register
    form, which shows the group of the chosen kind)."""
    return f"{CUSTOM_PREFIX}{kind}__{key}"


def _custom_form_field(definition: Any, stored: Any = None) -> forms.Field:
    options: dict[str, Any] = {
        "label": f"{definition.label} *" if definition.required else definition.label,
        "required": False,  # the service enforces it, keyed custom_fields.<key>
        "help_text": definition.help_text,
    }
    kind = definition.field_type
    if kind == CustomFieldType.INTEGER:
        return forms.IntegerField(**options)
    if kind == CustomFieldType.DECIMAL:
        return forms.DecimalField(max_digits=20, **options)
    if kind == CustomFieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **options)
    if kind == CustomFieldType.BOOLEAN:
        answers = [
            BLANK_CHOICE,
            ("true", pgettext_lazy("answer", "Yes")),
            ("false", pgettext_lazy("answer", "No")),
        ]
        return forms.ChoiceField(choices=answers, **options)
    if kind == CustomFieldType.CHOICE:
        choices = [BLANK_CHOICE, *((choice, choice) for choice in definition.choices)]
        if isinstance(stored, str) and stored and stored not in definition.choices:
            choices.append((stored, stored))  # a retired option stays until changed
        return forms.ChoiceField(choices=choices, **options)
    return forms.CharField(max_length=1000, **options)


def custom_initial(definition: Any, value: Any) -> Any:
    """A stored value as the form field's initial value."""
    if value is None:
        return None
    if definition.field_type == CustomFieldType.BOOLEAN and isinstance(value, bool):
        return "true" if value else "false"
    try:
        if definition.field_type == CustomFieldType.DATE and isinstance(value, str):
            return datetime.date.fromisoformat(value)
        if definition.field_type == CustomFieldType.DECIMAL and isinstance(value, str):
            return decimal.Decimal(value)
    except (ValueError, decimal.InvalidOperation):
        pass
    return value


def _for_service(value: Any) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return value


class CustomerForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    legal_name = forms.CharField(label=_("Legal name"), max_length=200)
    identity_kind = forms.ChoiceField(label=_("Identity document"), choices=IdentityKind.choices)
    identity_number = forms.CharField(label=_("Document number"), max_length=64)
    identity_country = forms.CharField(
        label=_("Issuing country (passport)"), max_length=3, required=False
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Taken from a resident ID number when left empty."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    address = forms.CharField(
        label=_("Address"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    branch_id = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.filter(is_active=True).order_by("code")
    )
    relationship_manager_id = PickerField(
        "relationship_manager",
        label=_("Relationship manager"),
        required=False,
        placeholder=_("Type a name to search"),
        help_text=_("A member of staff who manages customers."),
    )
    kyc_status = forms.ChoiceField(label=_("KYC status"), choices=KycStatus.choices)
    kyc_reviewed_at = forms.DateField(
        label=_("KYC reviewed on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    risk_rating = forms.ChoiceField(label=_("Risk rating"), choices=RiskRating.choices)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas."))
    # shown (and required) only after a possible-duplicate warning
    confirm_possible_duplicate = forms.BooleanField(
        label=_("Register anyway: this is another person"), required=False
    )
    duplicate_reason = forms.CharField(
        label=_("Why is this another person?"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        editing: bool = False,
        kind: str | None = None,
        definitions: Iterable[Any] = (),
        stored: dict[str, Any] | None = None,
        user: Any = None,
        current_manager: Any = None,
        current_segment: str = "",
        kyc_needs_approval: bool = True,
        current_kyc: str = "",
        **kwargs: Any,
    ) -> None:
        """`definitions`: the active custom field definitions to offer (for an edit, those of
        the customer's `kind`; `stored` is its current custom values). `user` decides which
        relationship managers may be picked (the current one stays possible)."""
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.kind = kind
        self.possible_duplicate = False
        manager_field = self.fields["relationship_manager_id"]
        if user is not None:
            managers = relationship_manager_queryset(user=user)
            if current_manager is not None:
                managers = managers.model.objects.filter(
                    Q(pk__in=managers.values("pk")) | Q(pk=current_manager)
                )
            manager_field.queryset = managers
        manager_field.label_from_instance = lambda person: person.display_name or person.username
        self.fields["segment"].choices = [BLANK_CHOICE, *segment_choices(current_segment)]
        if kyc_needs_approval and current_kyc != KycStatus.VERIFIED:
            # verification goes through "Request KYC verification" (a second person approves)
            self.fields["kyc_status"].choices = [
                choice for choice in KycStatus.choices if choice[0] != KycStatus.VERIFIED
            ]
            self.fields["kyc_status"].help_text = _(
                "Verified is set through “Request KYC verification”: a second person approves."
            )
        if editing:
            del self.fields["confirm_possible_duplicate"]
            del self.fields["duplicate_reason"]
        if editing:
            del self.fields["kind"]
            for name in PROTECTED_INPUTS:
                self.fields[name].required = False
                self.fields[name].help_text = _(
                    "Stored encrypted and not shown here; leave empty to keep it."
                )
        self.custom_definitions = [
            definition
            for definition in definitions
            if definition.active and (kind is None or definition.customer_kind == kind)
        ]
        stored = stored or {}
        for definition in self.custom_definitions:
            name = custom_input_name(definition.customer_kind, definition.key)
            self.fields[name] = _custom_form_field(definition, stored.get(definition.key))
            if definition.key in stored:
                self.initial[name] = custom_initial(definition, stored[definition.key])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("confirm_possible_duplicate"):
            self.possible_duplicate = True
            if not (cleaned.get("duplicate_reason") or "").strip():
                self.add_error(
                    "duplicate_reason",
                    _("Say why this is not the same person as the customers listed."),
                )
        return cleaned

    def standard_fields(self) -> list[forms.BoundField]:
        return [
            field
            for field in self
            if not field.name.startswith(CUSTOM_PREFIX) and field.name not in DUPLICATE_INPUTS
        ]

    def duplicate_fields(self) -> list[forms.BoundField]:
        """The confirmation inputs, shown once a possible duplicate was reported."""
        return [self[name] for name in DUPLICATE_INPUTS if name in self.fields]

    def custom_groups(self) -> list[tuple[str, Any, list[forms.BoundField]]]:
        """(kind, kind label, bound fields) per kind of customer that has custom fields."""
        groups = []
        for kind, label in CustomerKind.choices:
            fields = [
                self[custom_input_name(kind, definition.key)]
                for definition in self.custom_definitions
                if definition.customer_kind == kind
            ]
            if fields:
                groups.append((kind, label, fields))
        return groups

    def field_for_error(self, name: str) -> str | None:
        """The form field showing a service error (custom_fields.<key> -> its input)."""
        if name in self.fields:
            return name
        if name.startswith("custom_fields."):
            key = name.removeprefix("custom_fields.")
            kind = self.kind or self.cleaned_data.get("kind")
            candidate = custom_input_name(str(kind), key)
            if candidate in self.fields:
                return candidate
        return None

    def data_for_service(self) -> dict[str, Any]:
        data = {
            name: value
            for name, value in self.cleaned_data.items()
            if not name.startswith(CUSTOM_PREFIX)
        }
        branch = data.pop("branch_id", None)
        data["branch_id"] = branch.pk if branch is not None else None
        manager = data.pop("relationship_manager_id", None)
        data["relationship_manager_id"] = manager.pk if manager is not None else None
        data["segment"] = data.get("segment") or ""
        data["tags"] = [tag for tag in (data.get("tags") or "").split(",") if tag.strip()]
        if self.editing:
            for name in PROTECTED_INPUTS:
                if not data.get(name):
                    data.pop(name, None)
        kind = self.kind or data.get("kind")
        custom: dict[str, Any] = {}
        for definition in self.custom_definitions:
            if definition.customer_kind != kind:
                continue
            name = custom_input_name(definition.customer_kind, definition.key)
            if self.editing and name not in self.changed_data:
                continue  # unchanged values are kept as stored
            value = _for_service(self.cleaned_data.get(name))
            if value is not None or self.editing:
                custom[definition.key] = value
        if custom or not self.editing:
            data["custom_fields"] = custom
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=CustomerStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class KycRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("What was checked"),
        max_length=500,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("For example: ID card and proof of address seen in branch")}
        ),
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)


class ConsentWithdrawForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class CustomFieldDefinitionForm(forms.Form):
    """Define a custom field (all values) or, with `editing`, change one (kind, key and type
    are fixed once defined)."""

    customer_kind = forms.ChoiceField(label=_("Kind of customer"), choices=CustomerKind.choices)
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        help_text=_("Lower-case letters, digits and underscores; used by the API and imports."),
    )
    label = forms.CharField(label=_("Label"), max_length=100)
    help_text = forms.CharField(label=_("Help text"), max_length=300, required=False)
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a choice field: one option per line."),
    )
    required = forms.BooleanField(
        label=_("Required for new customers"), required=False, initial=False
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    order = forms.IntegerField(
        label=_("Order"), min_value=0, max_value=10_000, initial=0, required=False
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            for name in ("customer_kind", "key", "field_type"):
                del self.fields[name]

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["choices"] = (data.get("choices") or "").splitlines()
        if data.get("order") is None:
            data.pop("order", None)
        return data
