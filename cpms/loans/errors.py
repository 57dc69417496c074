"""Loan servicing refusals with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, NotFound, ValidationFailed


class LoanNotFound(NotFound):
    code = "loans.not_found"

    def default_message(self) -> str:
        return _("No loan has this id.")


class NotDisbursed(Conflict):
    code = "loans.not_disbursed"

    def default_message(self) -> str:
        return _("This loan has not been disbursed yet.")


class AlreadyDisbursed(Conflict):
    code = "loans.already_disbursed"

    def default_message(self) -> str:
        return _("This loan was already disbursed with other details.")


class LoanClosed(Conflict):
    code = "loans.repaid"

    def default_message(self) -> str:
        return _("This loan is fully repaid.")


class Overpayment(ValidationFailed):
    code = "loans.overpayment"

    def default_message(self) -> str:
        return _("The amount is more than the loan owes.")


class Backdated(ValidationFailed):
    code = "loans.backdated"

    def default_message(self) -> str:
        return _("The value date is before the loan's last recorded event.")


class InvalidLoan(ValidationFailed):
    code = "loans.invalid"
