"""What refused a request, carried on the exception that becomes the 403 or 404.

Any layer may `mark` a refusal (the permission or scope that refused, the row); `access`
records it as an `access.denied` audit entry where the exception is turned into a response
(`cpms.access.refusals.record_refusal`)."""

from __future__ import annotations

from typing import Any


def mark(exc: BaseException, **details: Any) -> BaseException:
    """Attach what refused (`permission`, `scope`, `object_type`, `object_id`) to an exception
    that will become a 403 or a 404."""
    existing = dict(getattr(exc, "refusal", None) or {})
    existing.update({key: value for key, value in details.items() if value not in (None, "")})
    exc.refusal = existing  # type: ignore[attr-defined]
    return exc


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 10:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def refusal_of(exc: BaseException | None) -> dict[str, Any] | None:
    """The refusal details found on `exc` or anything it was raised from, or None."""
    for link in _chain(exc):
        details = getattr(link, "refusal", None)
        if details is not None:
            return dict(details)
    return None
