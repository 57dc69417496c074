"""The `cpms` console script: Django's management entry point with CPMS settings."""

import getpass
import os
import sys


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return f"uid {os.getuid()}"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.config.settings")
    from django.core.management import execute_from_command_line

    from cpms.core.context import acting

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    # an operator on the server: the audit trail records the command and the operating-system
    # account that ran it, whatever `--actor` the command acts as (docs/security.md)
    agent = f"cpms {command}".strip() + f" (os user {operator()})"
    with acting(channel="cli", ip="local", user_agent=agent[:400]):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
