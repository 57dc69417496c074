"""`cpms documents verify|upload`: the document store from the command line.

`--actor NAME` makes the command act as that user (permissions, scope, audit identity). `verify`
without it acts as the system and checks every stored file; `upload` needs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.access.checks import require_permission
from cpms.core.errors import CpmsError
from cpms.documents import selectors, services
from cpms.documents.choices import Classification, RetentionClass
from cpms.documents.models import MANAGE_PERMISSION
from cpms.users.models import User


class Command(BaseCommand):
    help = "Verify stored documents' hashes; upload a document."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", default=None, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        verify = actions.add_parser(
            "verify", help="Re-hash every stored version; exit 1 if any file fails."
        )
        verify.add_argument("--actor", default=None, dest="actor_sub", help="Act as this user.")
        upload = actions.add_parser("upload", help="Upload FILE as a new document.")
        upload.add_argument("file", help="Path of the file.")
        upload.add_argument("--customer", required=True, help="Customer number, e.g. C00000001.")
        upload.add_argument("--title", required=True)
        upload.add_argument(
            "--classification", default=Classification.INTERNAL, choices=Classification.values
        )
        upload.add_argument(
            "--retention", default=RetentionClass.CORRESPONDENCE, choices=RetentionClass.values
        )
        upload.add_argument("--holding", type=int, default=None, help="Link to this property id.")
        upload.add_argument("--actor", default=None, dest="actor_sub", help="Act as this user.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options.get("actor_sub") or options.get("actor")
        actor = None
        if username:
            actor = User.objects.filter(username=username, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {username!r}.")
        try:
            getattr(self, f"_{options['action']}")(actor, options)
        except CpmsError as exc:
            details = "; ".join(
                f"{key}: {value}" for key, value in exc.fields.items() if str(value) != exc.message
            )
            raise CommandError(f"{exc.code}: {exc.message} {details}".strip()) from exc

    def _verify(self, actor: User | None, options: dict[str, Any]) -> None:
        result = services.document_verify_all(actor=actor)
        for document_id, number, status in result.failures:
            self.stderr.write(f"FAILED document {document_id} v{number}: {status}")
        self.stdout.write(
            f"Checked {result.checked} stored versions: {result.intact} intact, "
            f"{len(result.failures)} failed."
        )
        if not result.ok:
            raise CommandError(f"{len(result.failures)} stored file(s) failed verification.")

    def _upload(self, actor: User | None, options: dict[str, Any]) -> None:
        if actor is None:
            raise CommandError("Give --actor USERNAME: uploads are made by a member of staff.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        require_permission(actor, MANAGE_PERMISSION)
        customer = selectors.customer_for_upload(user=actor, number=options["customer"])
        if customer is None:
            raise CommandError(f"No customer {options['customer']!r} in the actor's scope.")
        with path.open("rb") as handle:
            document = services.document_upload(
                actor=actor,
                customer=customer,
                file=handle,
                title=options["title"],
                classification=options["classification"],
                retention_class=options["retention"],
                holding=options["holding"],
                original_name=path.name,
            )
        version = document.current_version
        self.stdout.write(
            f"Uploaded document {document.pk} v{version.number}: {version.content_type}, "
            f"{version.size} bytes, sha256 {version.sha256}"
        )
