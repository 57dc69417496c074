from ninja import Router

router = Router(tags=["holdings"])
