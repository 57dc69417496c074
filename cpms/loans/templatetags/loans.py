"""{% load loans %} {{ bucket_code|bucket_label }}: a days-past-due bucket by its translated
name ("正常", "1–30 天"), never its stored code."""

from __future__ import annotations

from typing import Any

from django import template

from cpms.loans.choices import Bucket

register = template.Library()


@register.filter
def bucket_label(code: Any) -> str:
    try:
        return str(Bucket(code).label)
    except ValueError:
        return str(code or "")
