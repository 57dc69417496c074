"""The `cpms` console script: Django's management entry point with CPMS settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.config.settings")
    from django.core.management import execute_from_command_line

    from cpms.core.context import acting

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    with acting(channel="cli", ip="local", user_agent=f"cpms {command}".strip()):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
