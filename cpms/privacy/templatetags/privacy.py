"""`{% load privacy %}{% pii_field record "phone" %}`: the masked value of a protected field,
with a reveal control for users who hold `pii.reveal`."""

from __future__ import annotations

from typing import Any

from django import template

from cpms.access.checks import user_has_permission
from cpms.privacy.protected import ERASED, pii_masked, target_of
from cpms.privacy.views import dom_id

register = template.Library()


@register.inclusion_tag("privacy/partials/_masked_value.html", takes_context=True)
def pii_field(context: dict[str, Any], record: Any, field: str, masked: str | None = None) -> dict:
    """`masked` may be passed in when a list page computed it in bulk (pii_masked_many)."""
    user = context.get("user")
    value = pii_masked(record, field) if masked is None else masked
    target = target_of(record)
    return {
        "masked": value,
        "erased": value == ERASED,
        "target": target,
        "field": field,
        "dom_id": dom_id(target, field),
        "can_reveal": bool(value) and value != ERASED and user_has_permission(user, "pii.reveal"),
        "csrf_token": context.get("csrf_token"),
    }
