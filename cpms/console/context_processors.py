from typing import Any

from django.http import HttpRequest

from cpms import __version__
from cpms.console.navigation import navigation_for


def console(request: HttpRequest) -> dict[str, Any]:
    return {"navigation": navigation_for(request.user), "cpms_version": __version__}
