"""Serve the console (`make run`): org emulator with demo orgs, web server, one worker cluster
(`runworkers`, restarted if it dies)."""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from orgsync import demo
from orgsync.env import FILE_MAIL_BACKEND, email_settings, env
from orgsync.supervisor import Program, Supervisor, python_program


class Command(BaseCommand):
    help = "Run sfemu with two demo orgs, the web console and a django-q2 worker cluster until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port of the web console")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--emulator-port", type=int, default=8700)
        parser.add_argument("--no-emulator", action="store_true", help="only the web server and worker")

    def handle(self, *args, bind: str, web_workers: int, emulator_port: int, no_emulator: bool, **options):
        mail = self._dev_mail()
        supervisor = Supervisor()
        try:
            if not no_emulator:
                self._start_emulator(
                    supervisor, demo.Emulator(Path(settings.VAR_DIR) / "sfemu", emulator_port), bind
                )
            supervisor.start(
                python_program(
                    "web",
                    "-m",
                    "gunicorn",
                    "orgsync.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(web_workers),
                    "--access-logfile",
                    "-",
                    "--graceful-timeout",
                    "8",
                ),
                # Restarted if it dies; it restarts its own cluster when that stalls.
                Program("worker", [sys.executable, "manage.py", "runworkers"], restart=True),
            )
            self.stdout.write(mail)
            self.stdout.write(
                self.style.SUCCESS(f"orgsync console on http://{bind}/ (Ctrl-C stops everything)")
            )
            code = supervisor.wait()
        finally:
            supervisor.stop()
        if code:
            raise SystemExit(code)

    @staticmethod
    def _dev_mail() -> str:
        """The demo's mail is written as files unless EMAIL_URL / EMAIL_BACKEND / ORGSYNC_DEV_MAIL
        say otherwise (web and worker read ORGSYNC_DEV_MAIL); returns the line saying where."""
        os.environ.setdefault("ORGSYNC_DEV_MAIL", "true")
        config = email_settings(
            dev_mail=env.bool("ORGSYNC_DEV_MAIL"), mail_dir=Path(settings.VAR_DIR) / "mail"
        )
        if config["EMAIL_BACKEND"] == FILE_MAIL_BACKEND:
            return (
                f"dev mail (partner invitations, alerts) is written as files to {config['EMAIL_FILE_PATH']}/ "
                "(set EMAIL_URL to send it)"
            )
        return f"mail is sent by {config['EMAIL_BACKEND']} (EMAIL_URL, EMAIL_BACKEND)"

    def _start_emulator(self, supervisor: Supervisor, emulator: demo.Emulator, bind: str) -> None:
        callbacks = [
            f"http://{bind}/admin/connections/org/oauth/callback/",
            f"http://{bind}/partner/oauth/callback/",
        ]
        orgs = demo.prepare_emulator(emulator, callback_urls=callbacks)
        supervisor.start(Program("sfemu", emulator.serve_argv()))
        demo.wait_until_serving(emulator)
        connection = demo.ensure_demo_connection(demo.connect_demo_orgs(emulator, orgs))
        self.stdout.write(
            f"sfemu (Salesforce org emulator) on {emulator.url}, CA {emulator.ca_path}\n"
            f"demo orgs {', '.join(o.name for o in orgs)}: connected in the console and linked by "
            f"“{connection}” (Account, Contact, Opportunity, Case, both ways); their users' credentials "
            f"are in {emulator.state_file}"
        )
