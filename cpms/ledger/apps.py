from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "cpms.ledger"
    label = "ledger"
    verbose_name = _("Ledger")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.approvals import registry
        from cpms.core import pickers
        from cpms.ledger import pickers as ledger_pickers
        from cpms.ledger import services
        from cpms.ledger.models import Account

        # customer accounts follow their customer; internal accounts (no customer) are the
        # firm's and are added by the selectors for every holder of the permission
        scopes.register(
            Account,
            branch="customer__branch_id",
            assigned="customer__relationship_manager_id",
            self="customer__portal_user_id",
        )
        from cpms.ledger import approval_context

        registry.register(
            services.APPROVAL_ACTION,
            execute=services.execute_approved_transfer,
            describe=services.describe_transfer,
            on_close=services.release_refused_transfer,
            context=approval_context.transfer_context,
        )
        pickers.register(ledger_pickers.KIND, search=ledger_pickers.search_accounts)
