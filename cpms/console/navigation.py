"""The console's navigation: one entry per product area that exists. Later apps add theirs
here; a test opens every entry, so a dead link fails the suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    section: str
    permission: str | None = None  # shown only to holders of this access permission

    @property
    def url(self) -> str:
        return reverse(self.url_name)


def navigation_for(user: Any) -> list[NavItem]:
    from cpms.access.checks import user_has_permission

    return [
        item
        for item in NAVIGATION
        if item.permission is None or user_has_permission(user, item.permission)
    ]


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("console:dashboard", _("Dashboard"), "dashboard"),
    NavItem("console:staff", _("Staff & branches"), "staff"),
    NavItem("api:openapi-view", _("API docs"), "api"),
)
