"""The console's admin site: the stock site, but its login goes through allauth, and its index
shows the product first and the library apps under "Administration"."""

from types import MethodType

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.admin import AdminSite

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
