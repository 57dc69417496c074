"""API for customers, mounted at /api/v1/customers/ by cpms.config.api."""

from ninja import Router

router = Router(tags=["customers"])
