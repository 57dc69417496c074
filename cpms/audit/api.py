"""API for the audit app, mounted at /api/v1/ by cpms.config.api."""

from ninja import Router

router = Router(tags=["audit"])
