"""Extra tabs on the customer detail page, contributed by other apps (property, documents,
purchases, …) without the customers app importing them.

An app registers its tab in `AppConfig.ready()`:

    from cpms.customers.tabs import CustomerTab, register_tab

    register_tab(CustomerTab(
        key="property",
        label=gettext_lazy("Property"),
        template="holdings/customer_tab.html",
        permission="holdings.view",
        context=lambda request, customer: {"holdings": selectors.holding_list(...)},
        order=20,
    ))

The tab is shown to users holding `permission`; `context` runs only when the tab is open, and the
template is included inside the detail page with `customer`, `can_manage` and that context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.functional import Promise

from cpms.access.checks import user_has_permission


@dataclass(frozen=True)
class CustomerTab:
    key: str
    label: str | Promise
    template: str
    permission: str
    context: Callable[[HttpRequest, Any], dict[str, Any]]
    order: int = 50


_TABS: dict[str, CustomerTab] = {}


def register_tab(tab: CustomerTab) -> None:
    if tab.key in ("profile", "consents", "history"):
        raise ValueError(f"tab key {tab.key!r} is built in")
    _TABS[tab.key] = tab


def tabs_for(user: Any) -> list[CustomerTab]:
    """Registered tabs the user may open, in display order."""
    return [
        tab
        for tab in sorted(_TABS.values(), key=lambda tab: (tab.order, tab.key))
        if user_has_permission(user, tab.permission)
    ]
