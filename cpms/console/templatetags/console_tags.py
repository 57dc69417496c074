from django import template

from cpms.users.choices import Role

register = template.Library()


@register.filter
def role_label(code: str) -> str:
    """The translated name of a role code (falls back to the code for custom roles)."""
    return str(dict(Role.choices).get(code, code))


@register.filter
def role_labels(codes: str) -> str:
    """ "finance_officer,auditor" -> "财务, 审计" (the roles an audit entry recorded)."""
    return ", ".join(role_label(code.strip()) for code in (codes or "").split(",") if code.strip())
