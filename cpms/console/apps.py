from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "cpms.console"
    label = "console"
    verbose_name = _("Staff console")

    def ready(self) -> None:
        from cpms.core.views import install_debug_404

        install_debug_404()  # the friendly 404 page in debug mode (`make run`) too
