from django.db import migrations


def create_roles(apps, schema_editor):
    from orgsync.roles import sync_roles

    sync_roles(apps, using=schema_editor.connection.alias)


def remove_roles(apps, schema_editor):
    from orgsync.roles import ADMINISTRATORS, OPERATORS

    apps.get_model("auth", "Group").objects.filter(name__in=[ADMINISTRATORS, OPERATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
