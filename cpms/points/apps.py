from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from cpms.approvals import registry
from cpms.customers.tabs import CustomerTab, register_tab
from cpms.retail import hooks


class PointsConfig(AppConfig):
    name = "cpms.points"
    label = "points"
    verbose_name = _("Loyalty points")

    def ready(self) -> None:
        from cpms.access import scopes  # lazy: access may import models; apps load first
        from cpms.points import approval_context, services, views
        from cpms.points.choices import APPROVAL_ACTION, VIEW_PERMISSION
        from cpms.points.models import PointsLot, PointsLotUse, PointsMember, PointsShortfall

        for model, prefix in (
            (PointsMember, ""),
            (PointsLot, ""),
            (PointsShortfall, ""),
            (PointsLotUse, "lot__"),
        ):
            scopes.register(
                model,
                branch=f"{prefix}customer__branch_id",
                assigned=f"{prefix}customer__relationship_manager_id",
                self=f"{prefix}customer__portal_user_id",
            )
        registry.register(
            APPROVAL_ACTION,
            execute=services.execute_adjustment,
            describe=services.describe_adjustment,
            context=approval_context.adjustment_context,
        )
        # retail (a lower layer) records purchases and returns; it runs these inside the same
        # transaction, after its rows and before its audit entry
        hooks.register(
            "points",
            on_purchase_recorded=services.points_earn_for_purchase,
            on_return_recorded=services.points_reverse_for_return,
        )
        register_tab(
            CustomerTab(
                key="points",
                label=_("Points"),
                template="points/customer_tab.html",
                permission=VIEW_PERMISSION,
                context=views.customer_tab_context,
                order=45,
            )
        )
