from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodyConfig(AppConfig):
    name = "cpms.custody"
    label = "custody"
    verbose_name = _("Custody")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.approvals import registry
        from cpms.custody import services
        from cpms.custody.models import (
            CustodyEvent,
            CustodyItem,
            CustodyPhoto,
            Incident,
            Stocktake,
            StocktakeLine,
        )
        from cpms.customers.tabs import CustomerTab, register_tab

        owner = "holding__customer__"
        scopes.register(
            CustodyItem,
            branch=f"{owner}branch_id",
            assigned=f"{owner}relationship_manager_id",
            self=f"{owner}portal_user_id",
        )
        for model in (CustodyEvent, CustodyPhoto, Incident):
            scopes.register(
                model,
                branch=f"item__{owner}branch_id",
                assigned=f"item__{owner}relationship_manager_id",
                self=f"item__{owner}portal_user_id",
            )
        scopes.register(
            StocktakeLine,
            branch=f"item__{owner}branch_id",
            assigned=f"item__{owner}relationship_manager_id",
        )
        # a stocktake belongs to the branch it was started in and to the person who started it
        scopes.register(Stocktake, branch="branch_id", assigned="started_by_id")

        from cpms.custody import approval_context

        registry.register(
            services.DISPOSE_ACTION,
            execute=services.item_dispose_execute,
            describe=services.item_dispose_describe,
            context=approval_context.dispose_context,
        )
        register_tab(
            CustomerTab(
                key="custody",
                label=_("Custody"),
                template="custody/customer_tab.html",
                permission="holdings.view",
                context=_customer_tab_context,
                order=30,
            )
        )


def _customer_tab_context(request, customer):
    from cpms.access.checks import user_has_permission  # lazy: apps.py loads before models
    from cpms.custody import selectors

    return {
        "custody_items": selectors.item_list(user=request.user, customer=customer.pk).order_by(
            "-pk"
        )[:100],
        "custody_can_operate": user_has_permission(request.user, "custody.operate"),
    }
