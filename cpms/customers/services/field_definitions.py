"""Custom field definitions per kind of customer (the values live on the customer, checked by
`customers.custom_fields`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers import custom_fields
from cpms.customers.choices import CustomFieldType
from cpms.customers.errors import CustomFieldExists
from cpms.customers.models import CONFIGURE_PERMISSION, CustomFieldDefinition
from cpms.customers.schemas import CustomFieldDefinitionIn, CustomFieldDefinitionPatch
from cpms.customers.services._common import _parse, _plain

CUSTOM_FIELD_OBJECT_TYPE = "customers.custom_field"
DEFINITION_FIELDS = (
    "customer_kind",
    "key",
    "label",
    "help_text",
    "field_type",
    "choices",
    "required",
    "active",
    "order",
)


def _definition_snapshot(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {name: _plain(getattr(definition, name)) for name in DEFINITION_FIELDS}


def _check_definition(values: dict[str, Any]) -> None:
    """Normalise and check a definition's values in place (ValidationFailed on errors)."""
    errors: dict[str, str] = {}
    if "key" in values:
        values["key"] = str(values["key"]).strip()
        if not custom_fields.KEY_PATTERN.match(values["key"]):
            errors["key"] = _(
                "Use 1 to 40 lower-case letters, digits and underscores (for example "
                "annual_income)."
            )
    if "label" in values:
        values["label"] = str(values["label"]).strip()
        if not values["label"]:
            errors["label"] = _("Give a label.")
    if "help_text" in values:
        values["help_text"] = str(values["help_text"] or "").strip()
    choices, problem = custom_fields.clean_choices(values.get("choices"))
    values["choices"] = choices
    if problem:
        errors["choices"] = problem
    elif values["field_type"] == CustomFieldType.CHOICE and not choices:
        errors["choices"] = _("A choice field needs at least one option.")
    elif values["field_type"] != CustomFieldType.CHOICE and choices:
        errors["choices"] = _("Only a choice field has options.")
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)


def custom_field_define(
    *, actor: Any, data: CustomFieldDefinitionIn | Mapping[str, Any]
) -> CustomFieldDefinition:
    """Define a custom field for one kind of customer (`customer.custom_field_defined`). Kind,
    key and type are fixed from then on; a required field applies to customers registered
    afterwards."""
    require_permission(actor, CONFIGURE_PERMISSION)
    values = _parse(CustomFieldDefinitionIn, data).model_dump()
    _check_definition(values)
    with transaction.atomic():
        if CustomFieldDefinition.objects.filter(
            customer_kind=values["customer_kind"], key=values["key"]
        ).exists():
            raise CustomFieldExists(fields={"key": _("This key is already in use.")})
        now = timezone.now()
        definition = CustomFieldDefinition.objects.create(created_at=now, updated_at=now, **values)
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOM_FIELD_DEFINED,
            object_type=CUSTOM_FIELD_OBJECT_TYPE,
            object_id=definition.pk,
            after=_definition_snapshot(definition),
        )
    return definition


def custom_field_update(
    *,
    actor: Any,
    definition: CustomFieldDefinition,
    data: CustomFieldDefinitionPatch | Mapping[str, Any],
) -> CustomFieldDefinition:
    """Change a definition's label, help text, options, required flag, order or whether it is
    active (`customer.custom_field_changed`, changed fields only). Values stored on customers
    are never rewritten: a retired option or a deactivated field keeps its stored values."""
    require_permission(actor, CONFIGURE_PERMISSION)
    changes = {
        name: value
        for name, value in _parse(CustomFieldDefinitionPatch, data).changes().items()
        if value is not None or name in ("choices", "help_text")
    }
    with transaction.atomic():
        definition = CustomFieldDefinition.objects.select_for_update().get(pk=definition.pk)
        before = _definition_snapshot(definition)
        values = {"field_type": definition.field_type, "choices": definition.choices, **changes}
        _check_definition(values)
        changed = [name for name in changes if values[name] != before[name]]
        if not changed:
            return definition
        for name in changed:
            setattr(definition, name, values[name])
        definition.updated_at = timezone.now()
        definition.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOM_FIELD_CHANGED,
            object_type=CUSTOM_FIELD_OBJECT_TYPE,
            object_id=definition.pk,
            before={name: before[name] for name in changed},
            after={name: _plain(getattr(definition, name)) for name in changed},
        )
    return definition
