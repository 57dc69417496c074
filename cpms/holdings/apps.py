from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HoldingsConfig(AppConfig):
    name = "cpms.holdings"
    label = "holdings"
    verbose_name = _("Property")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.core import pickers
        from cpms.customers.tabs import CustomerTab, register_tab
        from cpms.holdings import models
        from cpms.holdings.pickers import search_holdings

        scopes.register(
            models.Holding,
            branch="customer__branch_id",
            assigned="customer__relationship_manager_id",
            self="customer__portal_user_id",
        )
        for model in (
            models.HoldingValuation,
            models.AccountDetail,
            models.PortfolioPosition,
            models.LoanDetail,
        ):
            scopes.register(
                model,
                branch="holding__customer__branch_id",
                assigned="holding__customer__relationship_manager_id",
                self="holding__customer__portal_user_id",
            )
        pickers.register("holding", search=search_holdings)
        register_tab(
            CustomerTab(
                key="property",
                label=_("Property"),
                template="holdings/customer_tab.html",
                permission=models.VIEW_PERMISSION,
                context=_customer_tab_context,
                order=20,
            )
        )


def _customer_tab_context(request, customer):  # type: ignore[no-untyped-def]
    from cpms.access.checks import user_has_permission  # lazy: apps.py loads before models
    from cpms.holdings import selectors
    from cpms.holdings.models import MANAGE_PERMISSION

    rows = selectors.holding_list(user=request.user, customer=customer.pk).order_by("-pk")[:200]
    return {
        "holdings": list(rows),
        "can_manage_holdings": user_has_permission(request.user, MANAGE_PERMISSION),
    }
