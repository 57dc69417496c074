from datetime import datetime
from typing import Any

from ninja import Field, Schema

from cpms.users.choices import Role


class BranchOut(Schema):
    id: int
    code: str
    name: str
    city: str
    is_active: bool


class MeRoleOut(Schema):
    code: str
    name: str

    @staticmethod
    def resolve_code(obj: Any) -> str:
        return obj.name

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(dict(Role.choices).get(obj.name, obj.name))


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    branch: BranchOut | None
    roles: list[MeRoleOut]
    last_login: datetime | None

    @staticmethod
    def resolve_roles(obj: Any) -> list[Any]:
        return list(obj.groups.all())


class TokenOut(Schema):
    prefix: str
    name: str
    user: str
    service_account: bool = Field(description="Whether the owner is a service account.")
    created_by: str | None = Field(
        description="Who issued it (the owner, or an administrator for a service account); "
        "null when an operator issued it on the server (`cpms token create`)."
    )
    scopes: list[str]
    state: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @staticmethod
    def resolve_user(obj: Any) -> str:
        return obj.user.username

    @staticmethod
    def resolve_service_account(obj: Any) -> bool:
        return obj.user.is_service_account

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.username if obj.created_by_id else None

    @staticmethod
    def resolve_state(obj: Any) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "active" if obj.is_usable() else "expired"


class TokenCreateIn(Schema):
    name: str = Field("", max_length=100)
    expires_days: int | None = Field(None, description="Lifetime in days (1–3650); none = never.")
    scopes: list[str] | None = Field(
        None, description='e.g. ["customers:read", "ledger:write"]; default ["*:read"].'
    )
    user: str | None = Field(
        None,
        description="A service account's user name (needs tokens.manage); a person's tokens "
        "are created only by that person.",
    )
    password: str | None = Field(
        None,
        max_length=4096,
        description="The caller's own password: creating a token needs a fresh proof of "
        "presence (not needed by a service account renewing its own token).",
    )
    code: str = Field(
        "", max_length=32, description="The caller's two-factor code (TOTP or recovery code)."
    )


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret, shown only in this response.")
