"""`cpms approvals list|show|approve|reject|cancel|expire`: the maker-checker from the shell."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.approvals import selectors, services
from cpms.approvals.choices import ApprovalStatus
from cpms.core.errors import CpmsError


class Command(BaseCommand):
    help = "List, approve, reject or cancel approval requests; expire overdue ones."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="Requests the user may see, newest first.")
        listing.add_argument("--user", required=True, help="Acting user name.")
        listing.add_argument("--status", choices=ApprovalStatus.values, default=None)
        listing.add_argument("--awaiting", action="store_true", help="Only those awaiting me.")
        listing.add_argument("--limit", type=int, default=50)
        for name, text in (
            ("approve", "Approve a request as USER."),
            ("reject", "Reject a request as USER (a reason is required)."),
            ("cancel", "Cancel your own pending request."),
        ):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("request_id", type=int, help="The request number.")
            sub.add_argument("--user", required=True, help="Acting user name.")
            sub.add_argument("--reason", default="", help="Why.")
        actions.add_parser("expire", help="Mark pending requests past their expiry as expired.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"[{exc.code}] {exc.message} {details}".strip()) from exc

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        return user

    def _list(self, options: dict[str, Any]) -> None:
        user = self._user(options["user"])
        if not selectors.can_use_approvals(user):
            raise CommandError(f"{user.username} may not use approvals.")
        requests = selectors.approval_request_list(
            user=user, status=options["status"], awaiting_me=options["awaiting"]
        ).order_by("-pk")[: max(1, options["limit"])]
        self.stdout.write(
            f"{'id':>6} {'status':<10} {'action':<24} {'maker':<16} {'ok':>5} "
            f"{'expires':<20} summary"
        )
        for request in requests:
            approvals = f"{selectors.approval_count(request)}/{request.approvers_required}"
            self.stdout.write(
                f"{request.pk:>6} {request.status:<10} {request.action:<24} "
                f"{request.maker.username:<16} {approvals:>5} "
                f"{request.expires_at.isoformat(timespec='minutes'):<20} {request.summary}"
            )

    def _decide(self, options: dict[str, Any], service: Any) -> None:
        user = self._user(options["user"])
        selectors.approval_request_get_for_user(user=user, pk=options["request_id"])
        request = service(actor=user, request_id=options["request_id"], reason=options["reason"])
        self.stdout.write(f"Request {request.pk}: {request.status}.")

    def _approve(self, options: dict[str, Any]) -> None:
        self._decide(options, services.approval_approve)

    def _reject(self, options: dict[str, Any]) -> None:
        self._decide(options, services.approval_reject)

    def _cancel(self, options: dict[str, Any]) -> None:
        self._decide(options, services.approval_cancel)

    def _expire(self, options: dict[str, Any]) -> None:
        count = services.approval_expire_overdue(actor=None)
        self.stdout.write(f"Expired {count} request(s).")
