"""Serve the console: web server and one worker cluster in the foreground (`make run`)."""

from django.core.management.base import BaseCommand

from orgsync.supervisor import Supervisor, python_program


class Command(BaseCommand):
    help = "Run the web console and a django-q2 worker cluster until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port of the web console")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind: str, web_workers: int, **options) -> None:
        programs = [
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
            ),
            python_program("worker", "manage.py", "qcluster"),
        ]
        self.stdout.write(f"orgsync console on http://{bind}/ (Ctrl-C stops everything)")
        code = Supervisor(programs).run()
        if code:
            raise SystemExit(code)
