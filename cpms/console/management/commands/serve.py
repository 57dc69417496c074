"""`cpms serve`: the web server (gunicorn, static files through WhiteNoise) and the job worker
together, as child processes. Ctrl-C (or SIGTERM) stops both; if either dies, both stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from cpms.access.demo import logins


class Command(BaseCommand):
    help = "Serve CPMS (gunicorn) with a job worker; Ctrl-C stops everything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.CPMS_PORT)
        parser.add_argument("--bind", default=settings.CPMS_BIND)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-worker", action="store_true", help="Do not start the worker.")
        parser.add_argument("--show-demo-logins", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        address = f"{options['bind']}:{options['port']}"
        commands = [
            [
                sys.executable,
                "-m",
                "gunicorn",
                "cpms.config.wsgi:application",
                "--bind",
                address,
                "--workers",
                str(options["web_workers"]),
                "--threads",
                "4",
                "--graceful-timeout",
                "10",
                "--access-logfile",
                "-",
                "--no-control-socket",
            ]
        ]
        if not options["no_worker"]:
            commands.append([sys.executable, "-m", "cpms", "worker"])
        children = [subprocess.Popen(command) for command in commands]  # noqa: S603
        stopping = False
        received: list[int] = []

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True
            received.append(signum)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self._announce(address, options["show_demo_logins"])
        exit_code = 0
        try:
            while not stopping:
                if any(child.poll() is not None for child in children):
                    exit_code = 1
                    self.stderr.write("A child process stopped; shutting down.")
                    break
                time.sleep(0.5)
        finally:
            # Ctrl-C in a terminal reaches every process of the group: give the children a
            # moment to stop on their own before telling them again.
            self._stop(children, grace=5.0 if signal.SIGINT in received else 0.0)
        if exit_code:
            sys.exit(exit_code)

    def _announce(self, address: str, show_logins: bool) -> None:
        host = address.rsplit(":", 1)[0]
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        port = address.rsplit(":", 1)[1]
        self.stdout.write("")
        self.stdout.write(f"CPMS is running at http://{shown}:{port}/   (Ctrl-C stops it)")
        self.stdout.write(f"API docs: http://{shown}:{port}/api/v1/docs   Health: /healthz")
        if show_logins:
            self.stdout.write(f"Demo logins, password {settings.CPMS_DEMO_PASSWORD}:")
            for username, role in logins():
                self.stdout.write(f"  {username:<12} {role}")
        self.stdout.write("")
        self.stdout.flush()

    def _stop(self, children: list[subprocess.Popen], *, grace: float) -> None:
        deadline = time.monotonic() + grace
        while grace and time.monotonic() < deadline and any(c.poll() is None for c in children):
            time.sleep(0.1)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
