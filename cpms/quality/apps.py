from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "cpms.quality"
    label = "quality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.approvals import registry
        from cpms.customers.name_matching import register_name_matcher
        from cpms.customers.tabs import CustomerTab, register_tab
        from cpms.quality import approval_context, matching, services, views
        from cpms.quality.models import CustomerMerge, DuplicateCandidate

        # A pair is reached through its first customer here; selectors also require the second
        # one in scope (both customers must be visible to review a pair).
        scopes.register(
            DuplicateCandidate,
            branch="customer_a__branch_id",
            assigned="customer_a__relationship_manager_id",
        )
        scopes.register(
            CustomerMerge,
            branch="survivor__branch_id",
            assigned="survivor__relationship_manager_id",
        )
        registry.register(
            services.MERGE_ACTION,
            execute=services.customers_merge_execute,
            describe=services.customers_merge_describe,
            context=approval_context.merge_context,
        )
        register_tab(
            CustomerTab(
                key="quality",
                label=_("Data quality"),
                template="quality/customer_tab.html",
                permission=services.REVIEW_PERMISSION,
                context=views.customer_tab_context,
                order=80,
            )
        )
        # The possible-duplicate check at registration uses this app's name matching.
        register_name_matcher(matching.name_matcher)
