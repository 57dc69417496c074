"""Writes for users: accounts and branches (`accounts`), API tokens (`tokens`), sign-in,
lockout, passwords and two-factor (`security`). Each function owns its transaction and
writes its audit entry in it. The public names of `accounts` and `tokens` are re-exported
here (`from cpms.users import services; services.token_create(...)`); `security` is used as
a module (`from cpms.users.services import security`)."""

from cpms.users.services.accounts import (
    ONE_TIME_PASSWORD_ALPHABET,
    account_create,
    account_make_service,
    branch_ensure,
    one_time_password,
    staff_administered,
    staff_deactivate,
    staff_reactivate,
    staff_update,
)
from cpms.users.services.tokens import (
    MAX_TOKEN_DAYS,
    TOKEN_PREFIX,
    TOKEN_TOUCH_INTERVAL,
    IssuedToken,
    ReauthenticationRequired,
    token_authenticate,
    token_authenticate_record,
    token_create,
    token_hash,
    token_revoke,
)

__all__ = [
    "MAX_TOKEN_DAYS",
    "ONE_TIME_PASSWORD_ALPHABET",
    "TOKEN_PREFIX",
    "TOKEN_TOUCH_INTERVAL",
    "IssuedToken",
    "ReauthenticationRequired",
    "account_create",
    "account_make_service",
    "branch_ensure",
    "one_time_password",
    "staff_administered",
    "staff_deactivate",
    "staff_reactivate",
    "staff_update",
    "token_authenticate",
    "token_authenticate_record",
    "token_create",
    "token_hash",
    "token_revoke",
]
