from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataioConfig(AppConfig):
    name = "cpms.dataio"
    label = "dataio"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from cpms.access import scopes  # lazy: app modules load once the registry is ready
        from cpms.dataio import models

        # a job is seen by the member of staff who started it (and by holders of "all" scope)
        scopes.register(models.ImportJob, assigned="created_by_id")

        from cpms.approvals import registry  # lazy: app modules load once the registry is ready

        # an approved clear-text export is a grant the maker downloads once (services)
        from cpms.dataio import approval_context, services

        registry.register(
            services.BULK_EXPORT_ACTION,
            execute=services.export_approval_execute,
            describe=services.export_approval_describe,
            context=approval_context.export_context,
        )
