"""The closed vocabulary of audit actions. Values are stable forever: never rename or reuse one.
Add new actions at the end of the section of the app that records them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # authentication (users)
    LOGIN_SUCCEEDED = "auth.login_succeeded", _("Signed in")
    LOGIN_FAILED = "auth.login_failed", _("Sign-in failed")
    LOGOUT = "auth.logout", _("Signed out")
    LOCKED_OUT = "auth.locked_out", _("Account locked")
    UNLOCKED = "auth.unlocked", _("Account unlocked")
    MFA_ENROLLED = "auth.mfa_enrolled", _("Two-factor enrolled")
    MFA_ENROLMENT_STARTED = "auth.mfa_enrolment_started", _("Two-factor enrolment started")
    MFA_DISABLED = "auth.mfa_disabled", _("Two-factor removed")
    MFA_FAILED = "auth.mfa_failed", _("Two-factor code rejected")
    RECOVERY_CODE_USED = "auth.recovery_code_used", _("Recovery code used")
    RECOVERY_CODES_REGENERATED = "auth.recovery_codes_regenerated", _("Recovery codes renewed")
    REAUTHENTICATED = "auth.reauthenticated", _("Re-authenticated")
    PASSWORD_CHANGED = "auth.password_changed", _("Password changed")
    SESSION_EXPIRED = "auth.session_expired", _("Session expired")
    # users, branches, API tokens
    USER_CREATED = "user.created", _("User created")
    USER_UPDATED = "user.updated", _("User updated")
    USER_DEACTIVATED = "user.deactivated", _("User deactivated")
    BRANCH_CREATED = "branch.created", _("Branch created")
    TOKEN_CREATED = "token.created", _("API token created")
    TOKEN_REVOKED = "token.revoked", _("API token revoked")
    # access control
    ROLE_CREATED = "role.created", _("Role created")
    ROLE_UPDATED = "role.updated", _("Role updated")
    ROLE_DELETED = "role.deleted", _("Role deleted")
    ROLE_GRANTED = "role.granted", _("Role granted")
    ROLE_REVOKED = "role.revoked", _("Role revoked")
    CONFLICT_DECLARED = "role.conflict_declared", _("Permission conflict declared")
    CONFLICT_REMOVED = "role.conflict_removed", _("Permission conflict removed")
    ACCESS_DENIED = "access.denied", _("Access denied")
    # maker-checker
    APPROVAL_REQUESTED = "approval.requested", _("Approval requested")
    APPROVAL_APPROVED = "approval.approved", _("Approval given")
    APPROVAL_REJECTED = "approval.rejected", _("Approval rejected")
    APPROVAL_EXPIRED = "approval.expired", _("Approval request expired")
    APPROVAL_EXECUTED = "approval.executed", _("Approved operation executed")
    APPROVAL_CANCELLED = "approval.cancelled", _("Approval request cancelled")
    APPROVAL_POLICY_CHANGED = "approval.policy_changed", _("Approval policy changed")
    # personal data
    PII_REVEALED = "pii.revealed", _("Personal data revealed")
    PII_REVEAL_REFUSED = "pii.reveal_refused", _("Personal data reveal refused")
    DATA_KEY_CREATED = "pii.data_key_created", _("Data key created")
    DATA_KEY_DESTROYED = "pii.data_key_destroyed", _("Data key destroyed")
    KEYS_ROTATED = "pii.keys_rotated", _("Keys rotated")
    # audit trail and exports
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")
    AUDIT_VERIFIED = "audit.verified", _("Audit trail verified")
    AUDIT_PROOF_ISSUED = "audit.proof_issued", _("Inclusion proof issued")
    EXPORT_DOWNLOADED = "export.downloaded", _("Export downloaded")
    REPORT_DOWNLOADED = "report.downloaded", _("Report downloaded")
    # customers
    CUSTOMER_CREATED = "customer.created", _("Customer registered")
    CUSTOMER_UPDATED = "customer.updated", _("Customer updated")
    CUSTOMER_ASSIGNED = "customer.assigned", _("Customer assigned")
    CUSTOMER_STATUS_CHANGED = "customer.status_changed", _("Customer status changed")
    CONSENT_GRANTED = "consent.granted", _("Consent granted")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
