"""The console's admin site: the stock site, but its login goes through allauth, its index
shows the product first and the library apps under "Administration", and the auth admin's
multiple choices refuse ids no database column can hold."""

from types import MethodType

from allauth.account.decorators import secure_admin_login
from django import forms
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

admin.site.site_header = "orgsync"
admin.site.site_title = "orgsync console"
admin.site.index_title = "Salesforce org sync"
# One way in: the admin's own login form would bypass allauth's MFA and rate limits.
admin.site.login = secure_admin_login(admin.site.login)

# The product, in the order an operator works through it; any other app of ours follows them.
PRODUCT_APPS = ("connections", "replication", "synclog", "metadiff")
# Apps of the libraries we build on: listed under "Administration", below the product.
ADMINISTRATION_APPS = ("auth", "account", "mfa", "django_q", "sites", "socialaccount")
PRODUCT, ADMINISTRATION = "product", "administration"


def _app_sort_key(app: dict) -> tuple:
    label = app["app_label"]
    if label in ADMINISTRATION_APPS:
        return (2, ADMINISTRATION_APPS.index(label), "")
    if label in PRODUCT_APPS:
        return (0, PRODUCT_APPS.index(label), "")
    return (1, 0, app["name"].lower())


def get_app_list(self: AdminSite, request, app_label=None) -> list[dict]:
    """The stock list, product apps first; each app says its `group` (the index template
    groups by it, so the library apps must come last)."""
    app_list = AdminSite.get_app_list(self, request, app_label)
    for app in app_list:
        app["group"] = ADMINISTRATION if app["app_label"] in ADMINISTRATION_APPS else PRODUCT
    return sorted(app_list, key=_app_sort_key)


admin.site.get_app_list = MethodType(get_app_list, admin.site)


MAX_ID = 2**63 - 1


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice whose ids must fit a 64-bit integer: Django looks every chosen id up
    with `pk__in`, and SQLite raises OverflowError (a 500) for a larger one."""

    def _check_values(self, value):
        for pk in value or ():
            text = str(pk).strip()
            if text.lstrip("-").isdigit() and abs(int(text)) > MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": text}
                )
        return super()._check_values(value)


class BoundedChoicesMixin:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", BoundedModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


User = get_user_model()
for model, model_admin in ((Group, GroupAdmin), (User, UserAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, type(model_admin.__name__, (BoundedChoicesMixin, model_admin), {}))
