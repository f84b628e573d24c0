from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    """Connected orgs, replication connections, the credentials vault and SalesforceClient."""

    name = "connections"
    verbose_name = "Connections"
