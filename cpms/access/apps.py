from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "cpms.access"
    label = "access"
    verbose_name = _("Access control")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.users.models import Branch, User

        scopes.register(User, branch="branch_id", self="pk")
        scopes.register(Branch, branch="pk")

        from cpms.access import approval_context
        from cpms.access.services import (
            ROLE_GRANT_ACTION,
            role_grant_describe,
            role_grant_execute,
        )
        from cpms.approvals import registry

        registry.register(
            ROLE_GRANT_ACTION,
            execute=role_grant_execute,
            describe=role_grant_describe,
            context=approval_context.role_grant_context,
        )
