"""Where the upstream statement fixtures are: ../shared/fixtures/statements beside the
checkout, else CPMS_STATEMENT_FIXTURES, else the workplace's /work/shared (a clone elsewhere,
as in CI, still finds them)."""

from __future__ import annotations

import os
from pathlib import Path


def statements_dir() -> Path:
    candidates = [
        Path(__file__).resolve().parents[3] / "shared/fixtures/statements",
        Path(os.environ.get("CPMS_STATEMENT_FIXTURES", "/nonexistent")),
        Path("/work/shared/fixtures/statements"),
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]
