"""The two operator groups exist with the right permissions."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from orgsync.roles import ADMINISTRATORS, OPERATORS, sync_roles


def codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


@pytest.mark.django_db
def test_manage_connections_permission_exists():
    permission = Permission.objects.get(codename="manage_connections")
    assert permission.name == "Manage Connections"
    assert permission.content_type.app_label == "connections"


@pytest.mark.django_db
def test_administrators_have_every_orgsync_permission():
    assert {"manage_connections", "retry_failed"} <= codenames(ADMINISTRATORS)


@pytest.mark.django_db
def test_operators_may_retry_but_not_manage_connections():
    assert "retry_failed" in codenames(OPERATORS)
    assert "manage_connections" not in codenames(OPERATORS)


@pytest.mark.django_db
def test_permissions_of_later_models_join_the_groups(monkeypatch):
    """A permission that appears later (a new model's) is attached on the next sync."""
    from orgsync import roles

    content_type, _ = ContentType.objects.get_or_create(app_label="synclog", model="futuremodel")
    Permission.objects.create(content_type=content_type, codename="view_futuremodel", name="Can view")
    Permission.objects.create(content_type=content_type, codename="delete_futuremodel", name="Can delete")
    operator_codenames = {**roles.OPERATOR_PERMISSIONS}
    operator_codenames["synclog"] = (*operator_codenames["synclog"], "view_futuremodel")
    monkeypatch.setattr(roles, "OPERATOR_PERMISSIONS", operator_codenames)
    from django.apps import apps

    sync_roles(apps)
    assert {"view_futuremodel", "delete_futuremodel"} <= codenames(ADMINISTRATORS)
    assert "view_futuremodel" in codenames(OPERATORS)
    assert "delete_futuremodel" not in codenames(OPERATORS), "operators change nothing"


@pytest.mark.django_db
def test_operators_watch_and_retry_only():
    """Sync Operators: view connections, record queue and sync log; retry failed items."""
    granted = codenames(OPERATORS)
    assert {
        "view_org",
        "view_connection",
        "view_recordqueueitem",
        "view_synclog",
        "view_syncrun",
        "view_connectionevent",
        "retry_failed",
        "retry_recordqueueitem",
    } <= granted
    assert not {c for c in granted if c.startswith(("add_", "change_", "delete_"))}


@pytest.mark.django_db
def test_other_apps_permissions_stay_out_of_the_administrators_group():
    assert (
        not Group.objects.get(name=ADMINISTRATORS).permissions.filter(content_type__app_label="auth").exists()
    )


@pytest.mark.django_db
def test_operator_in_group_has_the_permission(operator):
    operator.groups.add(Group.objects.get(name=OPERATORS))
    operator = type(operator).objects.get(pk=operator.pk)
    assert operator.has_perm("synclog.retry_failed")
    assert not operator.has_perm("connections.manage_connections")
