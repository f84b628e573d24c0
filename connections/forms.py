"""Admin forms for connecting orgs and creating connections. Secrets are write-only."""

from cryptography import x509
from django import forms
from django.core.exceptions import ValidationError

from connections.client_errors import SalesforceApiError
from connections.directory import active_user_id, allows_audit_fields
from connections.errors import ConnectionsError, CredentialsUnreadable, InvalidConnection
from connections.models import Connection, Org
from connections.services import connection_validate_orgs, org_connect

SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
# Which fields each sign-in method needs (beyond the consumer key, always required).
REQUIRED_BY_METHOD = {
    Org.AuthMethod.OAUTH_PKCE: (),
    Org.AuthMethod.JWT_BEARER: ("username", "private_key"),
    Org.AuthMethod.CLIENT_CREDENTIALS: ("client_secret",),
    Org.AuthMethod.PASSWORD: ("client_secret", "username", "password"),
}
SECRET_FIELDS = ("client_secret", "password", "security_token", "private_key")


class OrgForm(forms.ModelForm):
    """Connect an org. For every method but the browser flow, the org is asked right away and
    its answer (or refusal) shown here; for the browser flow the admin is sent to the org."""

    client_secret = forms.CharField(
        label="Consumer secret",
        required=False,
        widget=SECRET_WIDGET,
        strip=True,
        help_text="Write-only: never shown again. Leave blank to keep the stored one.",
    )
    password = forms.CharField(
        required=False,
        widget=SECRET_WIDGET,
        strip=False,
        help_text="Username + password method only. Write-only.",
    )
    security_token = forms.CharField(
        required=False,
        widget=SECRET_WIDGET,
        strip=True,
        help_text="Appended to the password; not needed from trusted IP ranges. Write-only.",
    )
    private_key = forms.FileField(
        label="Private key (PEM)",
        required=False,
        help_text="JWT bearer only: the key whose certificate is uploaded to the connected app. "
        "Stored encrypted; write-only.",
    )
    custom_login_url = forms.URLField(
        label="Custom login URL",
        required=False,
        assume_scheme="https",
        help_text=Org._meta.get_field("custom_login_url").help_text,
    )
    ca_bundle_file = forms.FileField(
        label="Trusted CA certificates file",
        required=False,
        help_text="PEM file; replaces the text above. For sfemu: var/sfemu/tls/ca.pem.",
    )

    class Meta:
        model = Org
        fields = (
            "label",
            "environment",
            "custom_login_url",
            "auth_method",
            "client_id",
            "username",
            "ca_bundle",
            "api_version",
        )
        widgets = {"ca_bundle": forms.Textarea(attrs={"rows": 4, "cols": 70})}

    def clean_private_key(self) -> str:
        upload = self.cleaned_data.get("private_key")
        if not upload:
            return ""
        text = upload.read().decode("ascii", errors="replace")
        if "PRIVATE KEY-----" not in text:
            raise ValidationError("This is not a PEM private key (-----BEGIN PRIVATE KEY-----).")
        return text

    def clean_client_id(self) -> str:
        return _printable_ascii(self.cleaned_data.get("client_id", ""), "consumer key")

    def clean_client_secret(self) -> str:
        return _printable_ascii(self.cleaned_data.get("client_secret", ""), "consumer secret")

    def clean_ca_bundle(self) -> str:
        return _pem_certificates(self.cleaned_data.get("ca_bundle", ""))

    def clean_ca_bundle_file(self):
        upload = self.cleaned_data.get("ca_bundle_file")
        if upload:
            upload.text = _pem_certificates(upload.read().decode("ascii", errors="replace"))
        return upload

    def clean_custom_login_url(self) -> str:
        url = self.cleaned_data.get("custom_login_url", "")
        if url and not url.startswith("https://"):
            raise ValidationError("Salesforce is reached over HTTPS only: the URL must start with https://.")
        return url.rstrip("/")

    def clean(self) -> dict:
        data = super().clean()
        if (
            data.get("environment") == Org.Environment.CUSTOM
            and not data.get("custom_login_url")
            and "custom_login_url" not in self.errors  # already said what is wrong with it
        ):
            self.add_error("custom_login_url", "A custom login URL is needed for this environment.")
        method = data.get("auth_method")
        for name in REQUIRED_BY_METHOD.get(method, ()):
            if data.get(name) or name in self.errors:
                continue
            label = self.fields[name].label or name.replace("_", " ").capitalize()
            if not self._stored(name):
                self.add_error(name, f"{label} is needed to sign in with “{Org.AuthMethod(method).label}”.")
            elif not self._stored_opens(name):
                self.add_error(
                    name,
                    f"The stored {label.lower()} can't be read (key rotated away or data changed): "
                    "enter it again.",
                )
        if data.get("ca_bundle_file"):
            data["ca_bundle"] = data["ca_bundle_file"].text
            self.instance.ca_bundle = data["ca_bundle"]
        return data

    def _stored(self, name: str) -> bool:
        return name in SECRET_FIELDS and bool(getattr(self.instance, f"{name}_sealed", ""))

    def _stored_opens(self, name: str) -> bool:
        try:
            getattr(self.instance, name)
        except CredentialsUnreadable:
            return False
        return True

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        for name in SECRET_FIELDS:
            if self.cleaned_data.get(name):
                setattr(self.instance, name, self.cleaned_data[name])
        if self.instance.auth_method != Org.AuthMethod.OAUTH_PKCE:
            try:
                org_connect(org=self.instance)
            except ConnectionsError as exc:
                self.add_error(None, str(exc))


def _printable_ascii(value: str, what: str) -> str:
    if value and not all(" " < character < "\x7f" for character in value):
        raise ValidationError(
            f"A {what} is letters, digits and ASCII punctuation only, with no spaces: copy it "
            "again from the connected app (Setup → App Manager → View → Manage Consumer Details)."
        )
    return value


def _pem_certificates(text: str) -> str:
    """`text` if it is one or more PEM certificates, else a field error saying so."""
    if not text.strip():
        return text
    try:
        x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise ValidationError(
            "This is not a PEM certificate: paste the CA certificate(s) as text from "
            "-----BEGIN CERTIFICATE----- to -----END CERTIFICATE----- (for sfemu: var/sfemu/tls/ca.pem)."
        ) from None
    return text


def connected_orgs():
    """Orgs a connection can use: those that have been connected (a failed browser sign-in leaves
    an org without an org id behind)."""
    return Org.objects.exclude(org_id="")


INVITE_FIELDS = ("partner_name", "partner_email")


class ConnectionForm(forms.ModelForm):
    """A new connection links two connected orgs, or invites a partner company (name and email
    of its contact) to connect theirs as the secondary org."""

    partner_name = forms.CharField(
        label="Invite a partner: contact name",
        max_length=120,
        required=False,
        help_text="Instead of a secondary org: the person at the partner company who connects their org.",
    )
    partner_email = forms.EmailField(
        label="Invite a partner: contact email",
        required=False,
        help_text="Save & Send Invite mails them a link to sign in to their org and accept or decline.",
    )

    class Meta:
        model = Connection
        fields = (
            "name",
            "primary_org",
            "secondary_org",
            "owner_username",
            "owner",
            "direction",
            "sync_users",
            "sync_metadata",
            "sync_feeds_and_audit_fields",
            "max_retry_attempts",
            "conflict_policy",
        )
        help_texts = {"owner_username": "Username of an active user of the primary org; checked live."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("primary_org", "secondary_org"):
            if name in self.fields:
                self.fields[name].queryset = connected_orgs()
        if "secondary_org" in self.fields:
            self.fields["secondary_org"].required = False

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk is None:
            self._clean_secondary_or_invite(data)
        primary, secondary = data.get("primary_org"), data.get("secondary_org")
        if self.instance.pk is None and primary and secondary:
            try:
                connection_validate_orgs(primary=primary, secondary=secondary)
            except InvalidConnection as exc:
                self.add_error(exc.field or None, str(exc))
                return data
        try:
            if primary and data.get("owner_username") and "owner_username" in self.changed_data:
                user_id = active_user_id(primary, data["owner_username"])
                if user_id is None:
                    self.add_error(
                        "owner_username",
                        f"No active user “{data['owner_username']}” in {primary}: "
                        "the connection owner must be an active user of the primary org.",
                    )
                self.instance.owner_user_id = user_id or ""
            if secondary and data.get("sync_feeds_and_audit_fields") and not allows_audit_fields(secondary):
                self.add_error(
                    "sync_feeds_and_audit_fields",
                    f"{secondary} does not let its connected user set audit fields: enable “Set Audit "
                    "Fields upon Record Creation” in its User Interface settings and give the user the "
                    "permission, or leave this option off.",
                )
        except SalesforceApiError as exc:
            raise ValidationError(f"Could not check with the org: {exc}") from exc
        return data

    def _clean_secondary_or_invite(self, data: dict) -> None:
        """Exactly one of: a connected secondary org, or a partner to invite (name and email)."""
        if "secondary_org" in self.errors or "partner_email" in self.errors:
            return
        inviting = bool(data.get("partner_email") or data.get("partner_name"))
        if data.get("secondary_org") and inviting:
            self.add_error(
                "partner_email",
                "Choose a connected secondary org or invite a partner, not both: clear the secondary "
                "org to invite, or clear the partner's name and email.",
            )
        elif not data.get("secondary_org") and not inviting:
            self.add_error(
                "secondary_org",
                "Choose the secondary org, or invite a partner: enter their contact name and email below.",
            )
        elif inviting:
            for name in INVITE_FIELDS:
                if not data.get(name):
                    label = self.fields[name].label.removeprefix("Invite a partner: ")
                    self.add_error(name, f"The partner's {label} is needed to send the invitation.")
