from datetime import datetime
from typing import Any

from ninja import Schema

from cpms.users.choices import Role


class BranchOut(Schema):
    id: int
    code: str
    name: str
    city: str
    is_active: bool


class RoleOut(Schema):
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
    roles: list[RoleOut]
    last_login: datetime | None

    @staticmethod
    def resolve_roles(obj: Any) -> list[Any]:
        return list(obj.groups.all())
