from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, using: str = "default", **kwargs) -> None:
    from orgsync.roles import sync_roles

    sync_roles(apps, using=using)


class OrgsyncConfig(AppConfig):
    """The project itself: roles, health, the admin site. Nothing domain-specific."""

    name = "orgsync"
    verbose_name = "orgsync"

    def ready(self) -> None:
        # Permissions of models added later exist only after their migration's post_migrate
        # (auth creates them there), so the groups are brought up to date at the same moment.
        post_migrate.connect(_sync_roles, dispatch_uid="orgsync.sync_roles")
