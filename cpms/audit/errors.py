"""Audit trail errors with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict


class EntryNotSealed(Conflict):
    code = "audit.not_sealed"

    def default_message(self) -> str:
        return _("This entry has not been sealed into the tree yet; try again in a minute.")


class EntryNotCheckpointed(Conflict):
    code = "audit.not_checkpointed"

    def default_message(self) -> str:
        return _("No signed checkpoint covers this entry yet; try again after the next one.")


class AuditTreeDamaged(Conflict):
    code = "audit.tree_damaged"

    def default_message(self) -> str:
        return _("The stored audit tree is damaged; run the verification.")
