"""Re-seal every stored org secret under the first key of ORGSYNC_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError

from connections.sealed_fields import reseal_all
from connections.vault import VaultError, keyring


class Command(BaseCommand):
    help = (
        "Re-seal all org credentials with the first key in ORGSYNC_ENCRYPTION_KEYS. Put the new "
        "key first and keep the old ones after it; run this; then the old keys can be removed."
    )

    def handle(self, *args, **options) -> None:
        try:
            current = keyring().sealing_key_id
            counts = reseal_all()
        except VaultError as exc:
            raise CommandError(str(exc)) from exc
        for model, rows in counts.items():
            self.stdout.write(f"{model}: {rows} row(s) re-sealed")
        self.stdout.write(self.style.SUCCESS(f"Every secret is now sealed with key {current!r}."))
