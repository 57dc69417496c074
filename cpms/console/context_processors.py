from typing import Any

from django.http import HttpRequest

from cpms import __version__
from cpms.console.navigation import NAVIGATION


def console(request: HttpRequest) -> dict[str, Any]:
    return {"navigation": NAVIGATION, "cpms_version": __version__}
