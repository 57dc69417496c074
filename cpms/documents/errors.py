"""Errors of the document store, with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, ValidationFailed


class FileRefused(ValidationFailed):
    """The uploaded file is not accepted (type, size, content); nothing was stored."""

    code = "documents.file_refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, fields={"file": message})


class FileTooLarge(FileRefused):
    code = "documents.file_too_large"


class FileTypeRefused(FileRefused):
    code = "documents.file_type_refused"


class FileMislabelled(FileRefused):
    code = "documents.file_mislabelled"


class IntegrityFailed(Conflict):
    code = "documents.integrity_failed"

    def default_message(self) -> str:
        return _(
            "The stored file does not match its recorded SHA-256 hash; it was not served and "
            "the failure has been recorded. Restore the file from backup."
        )


class LinkExists(Conflict):
    code = "documents.link_exists"

    def default_message(self) -> str:
        return _("The document is already linked to this property item.")


class LinkMissing(Conflict):
    code = "documents.link_missing"

    def default_message(self) -> str:
        return _("The document is not linked to this property item.")
