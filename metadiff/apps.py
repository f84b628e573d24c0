from django.apps import AppConfig


class MetadiffConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metadiff"
    verbose_name = "Metadata org differences"

    def ready(self) -> None:
        from metadiff import admin_sections

        admin_sections.register()  # its part of the connection page (connections.admin_sections)
