"""`{% load access_labels %}`: `{% permission_name code %}` shows a permission's translated
name with its code in small text; `{{ code|permission_label }}` and `{{ area|area_label }}`
give the plain names."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from cpms.access import labels

register = template.Library()


@register.simple_tag
def permission_name(code: str) -> SafeString:
    return format_html(
        '<span class="permission-name">{}</span> <small><code>{}</code></small>',
        labels.permission_label(code),
        code,
    )


@register.filter
def permission_label(code: str) -> str:
    return labels.permission_label(code)


@register.filter
def area_label(area: str) -> str:
    return labels.area_label(area)
