from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HoldingsConfig(AppConfig):
    name = "cpms.holdings"
    label = "holdings"
    verbose_name = _("Property")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.holdings.models import Holding, HoldingValuation

        scopes.register(
            Holding,
            branch="customer__branch_id",
            assigned="customer__relationship_manager_id",
            self="customer__portal_user_id",
        )
        scopes.register(
            HoldingValuation,
            branch="holding__customer__branch_id",
            assigned="holding__customer__relationship_manager_id",
            self="holding__customer__portal_user_id",
        )
