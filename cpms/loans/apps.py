from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoansConfig(AppConfig):
    name = "cpms.loans"
    label = "loans"
    verbose_name = _("Loan servicing")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.loans.models import LoanServicing

        scopes.register(
            LoanServicing,
            branch="holding__customer__branch_id",
            assigned="holding__customer__relationship_manager_id",
            self="holding__customer__portal_user_id",
        )
