"""API for the approvals app, mounted at /api/v1/ by cpms.config.api."""

from ninja import Router

router = Router(tags=["approvals"])
