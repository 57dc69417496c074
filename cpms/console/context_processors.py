from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from cpms import __version__
from cpms.console.navigation import navigation_for, navigation_groups


def console(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "navigation": SimpleLazyObject(lambda: navigation_for(user)),
        # counted only when a page draws the menu (badges cost a query each)
        "navigation_groups": SimpleLazyObject(lambda: navigation_groups(user)),
        "cpms_version": __version__,
    }
