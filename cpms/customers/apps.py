from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "cpms.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.core import pickers
        from cpms.customers.models import Customer
        from cpms.customers.pickers import search_customers

        scopes.register(
            Customer, branch="branch_id", assigned="relationship_manager_id", self="portal_user_id"
        )
        pickers.register("customer", search=search_customers)
