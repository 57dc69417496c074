"""Permission-matrix declarations of bulk import and export (see tests/permission_rules.py).
Jobs are seen by whoever started them (the relationship manager persona here)."""

from __future__ import annotations

import tempfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.permission_rules import Rule

IMPORT = ("data.import",)
EXPORT = ("data.export",)
STREAMS = "streams a file: tests/dataio/test_interfaces.py"

CONSOLE = {
    "dataio:import": Rule((*IMPORT, *EXPORT)),
    "dataio:job": Rule(IMPORT),
    "dataio:job-errors": Rule(IMPORT),
    "dataio:template": Rule(IMPORT),
    "dataio:export": Rule(EXPORT),
}

API = {
    ("POST", "/api/v1/data/imports"): Rule(IMPORT, "POST"),
    ("GET", "/api/v1/data/imports"): Rule(IMPORT),
    ("GET", "/api/v1/data/imports/{job_id}"): Rule(IMPORT),
    ("GET", "/api/v1/data/imports/{job_id}/errors"): Rule(IMPORT),
    ("GET", "/api/v1/data/exports/{dataset}"): Rule(EXPORT, skip=STREAMS),
}

WRITE_BODIES = {"/api/v1/data/imports": {"dataset": "customers"}}

PLACEHOLDERS = {
    "{job_id}": lambda world: str(world["import_job"].pk),
    "{dataset}": lambda world: "customers",
}


def build(world: dict) -> None:
    from cpms.dataio.services import import_job_submit

    manager = world["users"]["relationship_manager"]
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        world["import_job"] = import_job_submit(
            actor=manager,
            dataset="customers",
            upload=SimpleUploadedFile("matrix.csv", b"kind,legal_name\n"),
        )


def console_kwargs(name: str, world: dict) -> dict | None:
    if not name.startswith("dataio:"):
        return None
    return {
        "dataio:job": {"pk": world["import_job"].pk},
        "dataio:job-errors": {"pk": world["import_job"].pk},
        "dataio:template": {"dataset": "customers", "file_format": "csv"},
    }.get(name, {})


def state(world: dict) -> tuple:
    from cpms.customers.models import Customer
    from cpms.dataio.models import ImportJob

    return (ImportJob.objects.count(), Customer.objects.count())
