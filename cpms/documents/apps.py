from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "cpms.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.customers.tabs import CustomerTab, register_tab
        from cpms.documents import selectors
        from cpms.documents.models import Document, DocumentLink, DocumentVersion

        scopes.register(
            Document,
            branch="customer__branch_id",
            assigned="customer__relationship_manager_id",
            self="customer__portal_user_id",
        )
        for model in (DocumentVersion, DocumentLink):
            scopes.register(
                model,
                branch="document__customer__branch_id",
                assigned="document__customer__relationship_manager_id",
                self="document__customer__portal_user_id",
            )
        register_tab(
            CustomerTab(
                key="documents",
                label=_("Documents"),
                template="documents/customer_tab.html",
                permission="documents.view",
                context=selectors.customer_tab_context,
                order=30,
            )
        )
