"""Errors of bulk import and export, with stable codes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cpms.core.errors import CpmsError, ValidationFailed


class FileRefused(ValidationFailed):
    """The file cannot be read as a spreadsheet at all (encoding, binary, wrong type, columns)."""

    code = "dataio.file_refused"

    def __init__(self, message: Any = None, *, parts: list[Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        # What the file's problems are, as messages that keep their code and parameters (see
        # `cpms.dataio.messages`), so a stored report reads in its reader's language.
        if parts is None:
            parts = [message if message is not None else self.message]
        self.parts = parts

    def default_message(self) -> str:
        return _("The file cannot be imported.")


class DatasetUnavailable(CpmsError):
    code = "dataio.dataset_unavailable"
    status = 400

    def default_message(self) -> str:
        return _("This dataset cannot be imported or exported yet.")


class ExportApprovalPending(CpmsError):
    """A clear-text export needs a checker: the request was submitted."""

    code = "dataio.export_approval_pending"
    status = 409

    def default_message(self) -> str:
        return _("Exporting personal data in clear needs approval.")


class ExportNotApproved(CpmsError):
    code = "dataio.export_not_approved"
    status = 403

    def default_message(self) -> str:
        return _(
            "This approval request is not an approved, unused export of this dataset and "
            "format by you."
        )
