from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Default roles of product.md §1. Each is a Django group named by its value; the access
    control layer attaches permissions and scopes to them."""

    RELATIONSHIP_MANAGER = "relationship_manager", _("Relationship manager")
    FINANCE_OFFICER = "finance_officer", _("Finance officer")
    COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
    AUDITOR = "auditor", _("Auditor")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    TRAINER = "trainer", _("Trainer / support")
    ADMINISTRATOR = "administrator", _("Administrator")
    CUSTOMER = "customer", _("Customer (portal)")
