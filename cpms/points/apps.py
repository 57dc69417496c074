from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "cpms.points"
    label = "points"
    verbose_name = _("Loyalty points")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.approvals import registry
        from cpms.customers.tabs import CustomerTab, register_tab
        from cpms.points import services, views
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
        from cpms.points import approval_context

        registry.register(
            APPROVAL_ACTION,
            execute=services.execute_adjustment,
            describe=services.describe_adjustment,
            context=approval_context.adjustment_context,
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
