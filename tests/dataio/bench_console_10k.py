"""Not part of the suite (no test_ prefix): time a 10,000-row customer CSV through the console
path (upload view -> job -> both passes). Run: pytest -s tests/dataio/bench_console_10k.py"""

from __future__ import annotations

import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from cpms.dataio.models import ImportJob
from cpms.dataio.samples import customer_rows
from tests.dataio.conftest import ENGLISH, csv_bytes, rows_from


def test_bench_console_10k(rm1, tmp_path, django_capture_on_commit_callbacks):
    count = 10_000
    content = csv_bytes(ENGLISH, rows_from(customer_rows(count)))
    client = Client()
    client.force_login(rm1)
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        started = time.perf_counter()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("dataio:import"),
                {"dataset": "customers", "file": SimpleUploadedFile("c.csv", content)},
            )
        seconds = time.perf_counter() - started
    job = ImportJob.objects.get()
    print(f"\n10k console import: {seconds:.1f} s, {job.status}, created {job.created_count}")
    assert job.created_count == count
