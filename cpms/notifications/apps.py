from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "cpms.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from cpms.access import scopes
        from cpms.notifications.models import Notification

        scopes.register(
            Notification,
            branch="customer__branch_id",
            assigned="customer__relationship_manager_id",
            self="customer__portal_user_id",
        )

        from cpms.approvals import listeners
        from cpms.notifications import approval_notices

        listeners.subscribe(
            awaiting_decision=approval_notices.notify_checkers,
            decided=approval_notices.notify_maker,
        )
