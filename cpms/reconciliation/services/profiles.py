"""User-defined CSV statement profiles (the built-in ones live in `formats/`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.reconciliation.formats import BUILTIN_PROFILES, CsvProfile
from cpms.reconciliation.models import CsvProfileRecord
from cpms.reconciliation.services._shared import PROFILE_OBJECT, _require, _user


def profile_save(*, actor: Any, data: dict[str, Any]) -> CsvProfileRecord:
    """Store a user-defined CSV profile (validated by `CsvProfile.from_dict`: errors name the
    field). Names are unique and may not reuse a built-in profile's name."""
    _require(actor)
    profile = CsvProfile.from_dict(data)
    with transaction.atomic():
        if (
            profile.name in BUILTIN_PROFILES
            or CsvProfileRecord.objects.filter(name=profile.name).exists()
        ):
            raise ValidationFailed(
                fields={"name": _("A profile named %(name)s exists.") % {"name": profile.name}}
            )
        record = CsvProfileRecord.objects.create(
            name=profile.name,
            label=profile.label[:200],
            definition=profile.to_dict(),
            created_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_PROFILE_SAVED,
            object_type=PROFILE_OBJECT,
            object_id=record.pk,
            after={"name": record.name, "definition": record.definition},
        )
        return record
