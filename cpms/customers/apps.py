from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "cpms.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.approvals import registry
        from cpms.core import pickers
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
