"""factory_boy factories for the console's models."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from connections.models import Connection, Org
from orgsync.models import WorkerCluster

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"operator{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def groups(self, create: bool, names: list[str] | None, **kwargs) -> None:
        if create and names:
            self.groups.add(*Group.objects.filter(name__in=names))


class OrgFactory(factory.django.DjangoModelFactory):
    """A connected org as the console knows it (no live org behind it)."""

    class Meta:
        model = Org
        skip_postgeneration_save = True

    label = factory.Sequence(lambda n: f"Org {n}")
    environment = Org.Environment.CUSTOM
    custom_login_url = "https://127.0.0.1:8700"
    auth_method = Org.AuthMethod.PASSWORD
    client_id = factory.Sequence(lambda n: f"3MVG9client{n}")
    username = factory.Sequence(lambda n: f"admin@org{n}.sfemu.org")
    org_id = factory.Sequence(lambda n: f"00D5e00000{n:05d}AAA")
    org_name = factory.LazyAttribute(lambda o: o.label)
    edition = "Developer Edition"
    is_sandbox = False
    instance_url = "https://127.0.0.1:8700"

    @factory.post_generation
    def access_token(self, create: bool, value: str | None, **kwargs) -> None:
        self.access_token = value if value is not None else f"{self.org_id}!AQfactorytoken"
        if create:
            self.save(update_fields=["access_token_sealed"])


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    name = factory.Sequence(lambda n: f"Connection {n}")
    primary_org = factory.SubFactory(OrgFactory)
    secondary_org = factory.SubFactory(OrgFactory)
    owner_username = factory.LazyAttribute(lambda c: c.primary_org.username)


class WorkerClusterFactory(factory.django.DjangoModelFactory):
    """A worker cluster's heartbeat row: live, idle, just started."""

    class Meta:
        model = WorkerCluster

    host = "worker-host"
    pid = factory.Sequence(lambda n: 1000 + n)
    workers = 2
    started_at = factory.LazyFunction(timezone.now)
    heartbeat_at = factory.LazyFunction(timezone.now)
    cluster_started_at = factory.LazyFunction(timezone.now)
