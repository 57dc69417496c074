from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "cpms.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported before the app registry is ready,
        # and these modules import models.
        from cpms.access import scopes  # lazy: models not loaded when apps.py is imported
        from cpms.approvals import registry  # lazy: models not loaded when apps.py is imported
        from cpms.core import pickers  # lazy: as above
        from cpms.customers import services
        from cpms.customers.models import Customer
        from cpms.customers.pickers import search_customers, search_relationship_managers

        scopes.register(
            Customer, branch="branch_id", assigned="relationship_manager_id", self="portal_user_id"
        )
        pickers.register("customer", search=search_customers)
        pickers.register("relationship_manager", search=search_relationship_managers)
        from cpms.customers import approval_context

        registry.register(
            services.KYC_VERIFY_ACTION,
            execute=services.kyc_verify_execute,
            describe=services.kyc_verify_describe,
            context=approval_context.kyc_verify_context,
        )
