"""`cpms export customers|holdings|purchases --output FILE [--actor U] [--include-pii
--reason R [--approval-request N]]`: CSV or XLSX by the file's extension, scoped to the actor,
audited (`data.exported`). Personal data in clear follows the same rule as the console and the
API (reason, approval, reveal budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from cpms.core.errors import CpmsError
from cpms.dataio import selectors
from cpms.dataio.choices import Dataset
from cpms.dataio.readers import format_for
from cpms.dataio.services import data_export


class Command(BaseCommand):
    help = "Export customers, property or purchases to a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", choices=Dataset.values)
        parser.add_argument("--output", required=True, help="File to write (.csv or .xlsx).")
        parser.add_argument("--actor", default=None, help="Act as this member of staff.")
        parser.add_argument(
            "--include-pii",
            action="store_true",
            help="Write personal data in clear (needs the pii.reveal permission).",
        )
        parser.add_argument("--reason", default="", help="Why personal data is exported in clear.")
        parser.add_argument(
            "--approval-request",
            type=int,
            default=None,
            help="The approved privacy.bulk_export request (without it, one is submitted).",
        )
        parser.add_argument("--language", default=None, choices=["zh-hans", "en"])

    def handle(self, *args: Any, **options: Any) -> None:
        language = options["language"] or settings.LANGUAGE_CODE
        with translation.override(language):
            actor = selectors.actor_by_username(options["actor"])
            if actor is None:
                raise CommandError("Give --actor USERNAME of an active member of staff.")
            path = Path(options["output"])
            try:
                file_format = format_for(path.name)
                with path.open("wb") as stream:
                    count = data_export(
                        actor=actor,
                        dataset=options["dataset"],
                        stream=stream,
                        file_format=file_format,
                        include_pii=options["include_pii"],
                        language=language,
                        reason=options["reason"],
                        approval_request=options["approval_request"],
                    )
            except CpmsError as exc:
                path.unlink(missing_ok=True)
                raise CommandError(exc.message) from exc
            self.stdout.write(
                _("%(count)s rows written to %(path)s.") % {"count": count, "path": path}
            )
