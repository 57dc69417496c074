from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "cpms.access"
    label = "access"
    verbose_name = _("Access control")

    def ready(self) -> None:
        from cpms.access import checks, console, refusals, scopes
        from cpms.core import authz

        # the permission questions of the layers below access (core, audit, users, approvals)
        authz.install(
            authz.AccessPort(
                has_permission=checks.user_has_permission,
                require_permission=checks.require_permission,
                scoped=scopes.scoped,
                role_codes=checks.role_codes,
                require_staff=lambda request, codes: console.require_staff(request, *codes),
                record_refusal=refusals.record_refusal,
            )
        )
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
