from datetime import datetime
from typing import Any

from ninja import Field, Schema


class PermissionOut(Schema):
    code: str
    area: str
    label: str
    write: bool

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return str(obj.label)


class RoleOut(Schema):
    code: str
    name: str
    description: str
    builtin: bool
    is_active: bool
    permissions: list[str]

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return obj.display_name

    @staticmethod
    def resolve_permissions(obj: Any) -> list[str]:
        return sorted(permission.code for permission in obj.permissions.all())


class RoleIn(Schema):
    code: str = Field(..., max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")
    name: str = Field(..., max_length=100)
    description: str = ""
    permissions: list[str] = []


class RolePatch(Schema):
    name: str | None = Field(None, max_length=100)
    description: str | None = None
    permissions: list[str] | None = None
    is_active: bool | None = None


class GrantOut(Schema):
    id: int
    user: str
    role: str
    scope: str
    branch: str | None
    granted_by: str | None
    granted_at: datetime
    reason: str
    revoked_at: datetime | None

    @staticmethod
    def resolve_user(obj: Any) -> str:
        return obj.user.username

    @staticmethod
    def resolve_role(obj: Any) -> str:
        return obj.role.code

    @staticmethod
    def resolve_branch(obj: Any) -> str | None:
        return obj.branch.code if obj.branch_id else None

    @staticmethod
    def resolve_granted_by(obj: Any) -> str | None:
        return obj.granted_by.username if obj.granted_by_id else None


class GrantIn(Schema):
    user: str = Field(..., description="User name of the grantee.")
    role: str = Field(..., description="Role code.")
    scope: str | None = Field(None, description="all | branch | assigned | self")
    branch: str | None = Field(None, description="Branch code, for branch scope.")
    reason: str = Field(..., min_length=1, max_length=500)


class RevokeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


class ConflictOut(Schema):
    id: int
    first: str
    second: str
    declared_at: datetime


class ConflictIn(Schema):
    first: str
    second: str


class PendingApprovalOut(Schema):
    status: str = "pending_approval"
    approval_request_id: int
