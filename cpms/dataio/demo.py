"""Demo data of bulk import and export: none of its own. Imports and exports are actions on
other apps' records (the demo customers come from cpms/customers/demo.py), and every export
writes an audit entry, so a loader here could not be idempotent. Try it on the demo data with
`cpms import customers --template t.xlsx`, `cpms export customers --output c.xlsx --actor rm1`."""

from __future__ import annotations

from typing import Any


def load(*, rng: Any, options: Any) -> list[str]:
    return []
