"""`cpms import customers|holdings|purchases FILE [--dry-run] [--actor U] [--language L]` and
`cpms import customers --template FILE`.

Exit status: 0 when the file was accepted (and applied, unless --dry-run), 2 when it was refused
(the error report is printed: row, column, message), 1 on a usage error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from cpms.core.errors import CpmsError
from cpms.dataio import selectors
from cpms.dataio.choices import Dataset
from cpms.dataio.services import data_import
from cpms.users.models import User


def actor_named(username: str | None) -> User:
    if not username:
        raise CommandError("Give --actor USERNAME: imports and exports act as a member of staff.")
    actor = selectors.actor_by_username(username)
    if actor is None:
        raise CommandError(f"No active user named {username!r}.")
    return actor


class Command(BaseCommand):
    help = "Import customers, property or purchases from a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", choices=Dataset.values)
        parser.add_argument("file", nargs="?", help="The CSV or XLSX file to import.")
        parser.add_argument("--dry-run", action="store_true", help="Validate; write nothing.")
        parser.add_argument("--actor", default=None, help="Act as this member of staff.")
        parser.add_argument(
            "--language",
            default=None,
            choices=["zh-hans", "en"],
            help="Language of messages and template headers (default: CPMS_LANGUAGE).",
        )
        parser.add_argument(
            "--template", default=None, metavar="FILE", help="Write a template (.csv or .xlsx)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        language = options["language"] or settings.LANGUAGE_CODE
        with translation.override(language):
            if options["template"]:
                self._template(options)
                return
            if not options["file"]:
                raise CommandError("Give the FILE to import (or --template FILE).")
            actor = actor_named(options["actor"])
            self._import(actor, options, language)

    def _template(self, options: dict[str, Any]) -> None:
        path = Path(options["template"])
        try:
            with path.open("wb") as stream:
                selectors.template_write(dataset=options["dataset"], stream=stream, name=path.name)
        except CpmsError as exc:
            path.unlink(missing_ok=True)
            raise CommandError(exc.message) from exc
        self.stdout.write(_("Template written to %(path)s.") % {"path": path})

    def _import(self, actor: User, options: dict[str, Any], language: str) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        bar = None
        if not options["no_progress"]:
            from tqdm import tqdm

            bar = tqdm(unit=" rows", file=sys.stderr, desc=path.name, mininterval=0.5)

        def progress(rows: int) -> None:
            if bar is not None:
                bar.update(rows - bar.n)

        try:
            with path.open("rb") as stream:
                report = data_import(
                    actor=actor,
                    dataset=options["dataset"],
                    stream=stream,
                    filename=path.name,
                    dry_run=options["dry_run"],
                    language=language,
                    progress=progress,
                )
        except CpmsError as exc:
            raise CommandError(exc.message) from exc
        finally:
            if bar is not None:
                bar.close()
        counts = (
            _("rows %(rows)s, created %(created)s, updated %(updated)s, unchanged %(unchanged)s")
            % report.counts
        )
        if report.accepted:
            self.stdout.write(f"{report.message} {counts}")
            return
        self.stderr.write(report.message)
        for error in report.errors:
            row = error["row"] if error["row"] is not None else "-"
            column = error["column"] or "-"
            self.stderr.write(f"{_('row')} {row}\t{column}\t{error['message']}")
        if report.error_count > len(report.errors):
            self.stderr.write(
                _("… and %(count)s more errors.")
                % {"count": report.error_count - len(report.errors)}
            )
        sys.exit(2)
