from django.apps import AppConfig


class MetadiffConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "metadiff"
    verbose_name = "Metadata org differences"
