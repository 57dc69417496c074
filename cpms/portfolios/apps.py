from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortfoliosConfig(AppConfig):
    name = "cpms.portfolios"
    label = "portfolios"
    verbose_name = _("Portfolio trading")
