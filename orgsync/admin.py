"""The console's admin site: the stock site, but its login goes through allauth."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin

admin.site.site_header = "orgsync"
admin.site.site_title = "orgsync console"
admin.site.index_title = "Salesforce org sync"
# One way in: the admin's own login form would bypass allauth's MFA and rate limits.
admin.site.login = secure_admin_login(admin.site.login)
