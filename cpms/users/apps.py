from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "cpms.users"
    label = "users"
    verbose_name = _("Users")

    def ready(self) -> None:
        from cpms.core import pickers
        from cpms.users.pickers import search_staff

        pickers.register("staff", search=search_staff)
