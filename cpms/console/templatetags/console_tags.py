from django import template

from cpms.users.choices import Role

register = template.Library()


@register.filter
def role_label(code: str) -> str:
    """The translated name of a role code (falls back to the code for custom roles)."""
    return str(dict(Role.choices).get(code, code))
