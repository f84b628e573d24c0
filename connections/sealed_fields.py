"""Model attributes whose values live only sealed (see connections.vault).

`access_token = SealedSecret()` on a model keeps the ciphertext in the text column
`access_token_sealed`; reading the attribute opens it, assigning seals it. A value that does not
open (its key rotated away, or the ciphertext changed) reads as CredentialsUnreadable, a
ConnectionsError the admin shows as a message. The row's primary key
must be known before the first assignment (models using this have UUID primary keys).
"""

from collections.abc import Iterator

from django.apps import apps
from django.db import models, transaction

from connections.errors import CredentialsUnreadable
from connections.vault import SealContext, VaultError, key_id_of, keyring, open_sealed, seal


class SealedSecret:
    """A write-through descriptor: plaintext in, ciphertext stored, plaintext out on read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column = f"{name}_sealed"

    def __get__(self, instance: models.Model | None, owner: type) -> "str | SealedSecret":
        if instance is None:
            return self
        sealed = getattr(instance, self.column)
        if not sealed:
            return ""
        try:
            return self.open(instance)
        except VaultError as exc:
            raise CredentialsUnreadable(str(exc)) from None

    def open(self, instance: models.Model) -> str:
        """The plaintext, or the vault's own VaultError (which names the key or the field)."""
        return open_sealed(getattr(instance, self.column), context=self.context(instance))

    def __set__(self, instance: models.Model, value: str | None) -> None:
        sealed = seal(value, context=self.context(instance)) if value else ""
        setattr(instance, self.column, sealed)

    def context(self, instance: models.Model) -> SealContext:
        if instance.pk is None:
            raise ValueError(f"{instance._meta.label} needs its primary key before sealing {self.name}.")
        return SealContext(model=instance._meta.label_lower, pk=str(instance.pk), field=self.name)

    def is_set(self, instance: models.Model) -> bool:
        return bool(getattr(instance, self.column))


def sealed_secrets(model: type[models.Model]) -> list[SealedSecret]:
    return [value for value in vars(model).values() if isinstance(value, SealedSecret)]


def models_with_secrets() -> Iterator[tuple[type[models.Model], list[SealedSecret]]]:
    for model in apps.get_models():
        secrets = sealed_secrets(model)
        if secrets:
            yield model, secrets


def reseal_all() -> dict[str, int]:
    """Re-seal every stored secret not sealed under the first key; return counts per model.

    Each row is rewritten in its own transaction, so an interrupted rotation can simply be run
    again: values already under the new key are skipped.
    """
    current = keyring().sealing_key_id
    counts: dict[str, int] = {}
    for model, secrets in models_with_secrets():
        counts[model._meta.label] = 0
        for row in model._default_manager.iterator():
            stale = [s for s in secrets if s.is_set(row) and key_id_of(getattr(row, s.column)) != current]
            if not stale:
                continue
            for secret in stale:
                secret.__set__(row, secret.open(row))
            with transaction.atomic():
                row.save(update_fields=[s.column for s in stale])
            counts[model._meta.label] += 1
    return counts
