from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortfoliosConfig(AppConfig):
    name = "cpms.portfolios"
    label = "portfolios"
    verbose_name = _("Portfolio trading")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.portfolios import models

        scopes.register(
            models.Trade,
            branch="holding__customer__branch_id",
            assigned="holding__customer__relationship_manager_id",
            self="holding__customer__portal_user_id",
        )
