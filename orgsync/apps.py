from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, using: str = "default", **kwargs) -> None:
    from orgsync.roles import sync_roles

    sync_roles(apps, using=using)


class OrgsyncConfig(AppConfig):
    """The project itself: roles, health, worker clusters, the admin site. Nothing domain-specific."""

    name = "orgsync"
    verbose_name = "orgsync"

    def ready(self) -> None:
        # Permissions of models added later exist only after their migration's post_migrate
        # (auth creates them there), so the groups are brought up to date at the same moment.
        post_migrate.connect(_sync_roles, dispatch_uid="orgsync.sync_roles")
        # Worker clusters' progress (`orgsync.clusters`), from the worker and monitor processes.
        from django_q.signals import post_execute, pre_execute  # both need models loaded

        from orgsync import clusters

        pre_execute.connect(clusters.on_task_started, dispatch_uid="orgsync.task_started")
        post_execute.connect(clusters.on_task_finished, dispatch_uid="orgsync.task_finished")
