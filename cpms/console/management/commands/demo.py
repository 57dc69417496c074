"""`cpms demo [--seed S] [--customers N]`: load demo data. Deterministic for a seed, idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.access.demo import logins
from cpms.core.demo_loader import demo_load


class Command(BaseCommand):
    help = (
        "Load demo branches, staff, customers of both profiles (and, as later apps add them, "
        "property)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument(
            "--customers",
            type=int,
            default=40,
            metavar="N",
            help="How many demo customers of both profiles (default 40; a larger N keeps the "
            "existing ones and adds the rest).",
        )

    def _check(self, options: dict[str, Any]) -> None:
        if options["customers"] < 0:
            raise CommandError("--customers must be 0 or more.")

    def handle(self, *args: Any, **options: Any) -> None:
        self._check(options)
        created = demo_load(seed=options["seed"], options=options)
        if created:
            self.stdout.write(f"Demo data loaded: {len(created)} rows created.")
        else:
            self.stdout.write("Demo data already present: nothing changed.")
        self.stdout.write(f"Demo logins (password: {settings.CPMS_DEMO_PASSWORD}):")
        for username, role in logins():
            self.stdout.write(f"  {username:<12} {role}")
