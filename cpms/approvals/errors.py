"""Maker-checker errors with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, CpmsError, PermissionDenied, ValidationFailed


class SelfApproval(PermissionDenied):
    code = "approvals.self_approval"

    def default_message(self) -> str:
        return _("The maker of a request cannot approve or reject it.")


class NotApprover(PermissionDenied):
    code = "approvals.not_approver"

    def default_message(self) -> str:
        return _("You do not hold the permission this request needs from its approvers.")


class NotMaker(PermissionDenied):
    code = "approvals.not_maker"

    def default_message(self) -> str:
        return _("Only the maker of a request can cancel it.")


class AlreadyDecided(Conflict):
    code = "approvals.already_decided"

    def default_message(self) -> str:
        return _("You have already decided on this request.")


class NotPending(Conflict):
    code = "approvals.not_pending"

    def default_message(self) -> str:
        return _("This request is no longer pending.")


class RequestExpired(Conflict):
    code = "approvals.expired"

    def default_message(self) -> str:
        return _("This request has expired and can no longer be decided.")


class UnknownAction(ValidationFailed):
    code = "approvals.unknown_action"

    def default_message(self) -> str:
        return _("No approval policy or operation is registered for this action.")


class ExecutionFailed(CpmsError):
    code = "approvals.execution_failed"
    status = 409

    def default_message(self) -> str:
        return _("The approved operation failed; nothing was changed.")
