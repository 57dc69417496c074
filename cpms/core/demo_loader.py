"""Demo data: each installed CPMS app may have a `demo` module with
`load(*, rng, options) -> list[str]`; they run in INSTALLED_APPS order in one transaction."""

from __future__ import annotations

import importlib
import random
from typing import Any

from django.apps import apps
from django.db import transaction


def demo_modules() -> list[Any]:
    modules = []
    for config in apps.get_app_configs():
        if not config.name.startswith("cpms."):
            continue
        try:
            modules.append(importlib.import_module(f"{config.name}.demo"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
    return modules


def demo_load(*, seed: int, options: dict[str, Any] | None = None) -> list[str]:
    """Load demo data deterministically for `seed`; running it again creates nothing."""
    created: list[str] = []
    with transaction.atomic():
        for module in demo_modules():
            rng = random.Random(f"{seed}:{module.__name__}")  # noqa: S311 (demo data, not secrets)
            created.extend(module.load(rng=rng, options=dict(options or {})))
        # second pass for what must follow every app's data (e.g. the ledger's period close)
        for module in demo_modules():
            finish = getattr(module, "finish", None)
            if finish is not None:
                rng = random.Random(f"{seed}:{module.__name__}:finish")  # noqa: S311
                created.extend(finish(rng=rng, options=dict(options or {})))
    return created
