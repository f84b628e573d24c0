"""Operator roles: the two groups and what each may do.

The groups are created by a data migration (`orgsync/migrations/0001_roles.py`) and kept in
step after every `migrate` (see `OrgsyncConfig.ready`), so the permissions that later models
bring are attached as soon as their tables exist. To grant a role a new permission, add its
codename below; nothing else needs to change.
"""

from django.apps.registry import Apps

ADMINISTRATORS = "Org Sync Administrators"
OPERATORS = "Sync Operators"

# Apps whose permissions make up "all orgsync permissions".
ORGSYNC_APPS = ("orgsync", "connections", "replication", "synclog", "metadiff")

# Permissions that belong to no model's default add/change/delete/view set:
# (app_label, model, codename, name). The models that arrive later declare the same codename
# in their Meta.permissions, so Django reuses these rows rather than creating new ones.
CUSTOM_PERMISSIONS = (
    ("connections", "connection", "manage_connections", "Manage Connections"),
    ("synclog", "synclog", "retry_failed", "Retry failed items"),
)

# Sync Operators watch and retry; they change nothing else.
OPERATOR_PERMISSIONS = {
    "connections": ("view_org", "view_connection", "view_connectionevent"),
    "replication": ("view_recordqueueitem", "retry_recordqueueitem", "view_reconcilerun"),
    "synclog": ("view_synclog", "view_syncrun", "retry_failed"),
}


def sync_roles(apps: Apps, using: str = "default") -> None:
    """Create the custom permissions and both groups, and give each group its permissions.

    Works with historical models (from a migration) and with the live app registry.
    """
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    content_type_model = apps.get_model("contenttypes", "ContentType")
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        content_type, _ = content_type_model.objects.using(using).get_or_create(
            app_label=app_label, model=model
        )
        permission_model.objects.using(using).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    permissions = permission_model.objects.using(using)
    administrators, _ = group_model.objects.using(using).get_or_create(name=ADMINISTRATORS)
    administrators.permissions.add(*permissions.filter(content_type__app_label__in=ORGSYNC_APPS))
    operators, _ = group_model.objects.using(using).get_or_create(name=OPERATORS)
    for app_label, codenames in OPERATOR_PERMISSIONS.items():
        operators.permissions.add(
            *permissions.filter(content_type__app_label=app_label, codename__in=codenames)
        )
