from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from cpms.customers.tabs import CustomerTab, register_tab


class RetailConfig(AppConfig):
    name = "cpms.retail"
    label = "retail"
    verbose_name = _("Retail")

    def ready(self) -> None:
        from cpms.access import scopes  # lazy: access may import models; apps load first
        from cpms.retail import views
        from cpms.retail.models import Purchase, PurchaseLine, PurchaseReturn, PurchaseReturnLine

        scopes.register(
            Purchase,
            branch="customer__branch_id",
            assigned="customer__relationship_manager_id",
            self="customer__portal_user_id",
        )
        for model, prefix in (
            (PurchaseLine, "purchase__"),
            (PurchaseReturn, "purchase__"),
            (PurchaseReturnLine, "purchase_return__purchase__"),
        ):
            scopes.register(
                model,
                branch=f"{prefix}customer__branch_id",
                assigned=f"{prefix}customer__relationship_manager_id",
                self=f"{prefix}customer__portal_user_id",
            )
        register_tab(
            CustomerTab(
                key="purchases",
                label=_("Purchases"),
                template="retail/customer_tab.html",
                permission="retail.view",
                context=views.customer_tab_context,
                order=40,
            )
        )
