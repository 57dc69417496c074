"""Registering customers as they could be before issue 11: duplicates of one identity document,
look-alikes without a confirmation, and KYC set verified by one person. Data quality tests need
such data (it exists in registers from before, and arrives through old imports)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

from cpms.customers.services import register as registration


@contextlib.contextmanager
def legacy_registration() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(registration, "_refuse_same_document", lambda **kwargs: None)
        )
        stack.enter_context(mock.patch.object(registration, "possible_duplicates", lambda **kw: []))
        stack.enter_context(
            mock.patch.object(registration, "_claim_identity", lambda *args, **kwargs: None)
        )
        stack.enter_context(
            mock.patch.object(registration, "kyc_verification_needs_approval", lambda: False)
        )
        yield
