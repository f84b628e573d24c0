"""Create the first operator account for a fresh console, once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from orgsync.roles import ADMINISTRATORS


class Command(BaseCommand):
    help = (
        "Create a superuser 'admin' when no superuser exists yet and print its password once "
        "(it is stored nowhere else). Does nothing when a superuser exists."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")

    def handle(self, *args, username: str, email: str, **options) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "A superuser exists already. Forgot its password? "
                f"`.venv/bin/python manage.py changepassword {username}`"
            )
            return
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_superuser(username=username, email=email, password=password)
        user.groups.add(*user.groups.model.objects.filter(name=ADMINISTRATORS))
        banner = "=" * 64
        self.stdout.write(self.style.SUCCESS(banner))
        self.stdout.write(self.style.SUCCESS(f"Console superuser created: {username} / {password}"))
        self.stdout.write(self.style.SUCCESS("This password is shown only now. Write it down."))
        self.stdout.write(self.style.SUCCESS(banner))
