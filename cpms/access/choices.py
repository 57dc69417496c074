from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """How far a grant reaches (product.md §1)."""

    ALL = "all", _("All")
    BRANCH = "branch", _("Branch")
    ASSIGNED = "assigned", _("Assigned customers")
    SELF = "self", _("Self (portal)")
