"""Admin forms for publishing and subscribing."""

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.models import AbstractBaseUser

from connections.client import SalesforceClient
from connections.client_errors import SalesforceApiError
from replication import services
from replication.filter_syntax import FilterTextError, conditions_from_json, format_lines
from replication.mapping import check_mapping
from replication.models import OwnerStrategy, PublishedField, PublishedObject, SubscribedField
from replication.owners import OwnerStrategyError, active_users
from replication.services.subscription import mapped_objects


class PublishForm(forms.ModelForm):
    class Meta:
        model = PublishedObject
        fields = ("connection", "direction", "source_object")


class PublishedFieldForm(forms.ModelForm):
    class Meta:
        model = PublishedField
        fields = ("is_published",)

    def clean_is_published(self) -> bool:
        published = self.cleaned_data["is_published"]
        if published and self.instance.unsupported_reason:
            raise forms.ValidationError(
                f"{self.instance.source_field} cannot be published: {self.instance.unsupported_reason}"
            )
        return published


class MappingFormSet(forms.BaseInlineFormSet):
    """Checks every changed mapping against the S2S rules with both orgs' live describe."""

    def clean(self) -> None:
        super().clean()
        changed = [f for f in self.forms if f.has_changed() and f.cleaned_data.get("target_field")]
        if not changed:
            return
        publication = self.instance.published_object
        try:
            source = SalesforceClient(publication.source_org).describe(publication.source_object)
            target = SalesforceClient(publication.target_org).describe(self.instance.target_object)
        except SalesforceApiError as exc:
            raise forms.ValidationError(f"Could not read the orgs' describe: {exc}") from exc
        sources = {f["name"]: f for f in source["fields"]}
        targets = {f["name"].lower(): f for f in target["fields"]}
        objects = mapped_objects(publication.connection)
        for form in changed:
            name = form.cleaned_data["target_field"]
            target_field = targets.get(name.lower())
            if target_field is None:
                form.add_error("target_field", f"{self.instance.target_object} has no field “{name}”.")
                continue
            form.cleaned_data["target_field"] = target_field["name"]
            findings = check_mapping(
                sources[form.instance.source_field], target_field, target_object_mapped=objects
            )
            for finding in findings:
                form.add_error("target_field", finding.message)


class SubscribedFieldForm(forms.ModelForm):
    class Meta:
        model = SubscribedField
        fields = ("target_field",)


FILTER_HELP = (
    "One condition per line, all must match: <code>Industry equals Banking</code>, "
    "<code>AnnualRevenue greater_than 1000000</code>, <code>Type in_list Customer - Direct, Partner</code>, "
    "<code>Phone is_not_blank</code>. Operators: equals, not_equals, greater_than, less_than, contains, "
    'starts_with, is_blank, is_not_blank, in_list. Quote a value with "…" to keep commas or spaces.'
)


class PublicationSettingsForm(forms.ModelForm):
    """The change form of a publication, plus its filter and owner strategy, which are checked
    against the live orgs here and saved by :meth:`save_settings` through the services."""

    filter_text = forms.CharField(
        label="Filter",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=FILTER_HELP,
    )
    strategy = forms.ChoiceField(label="Owner strategy", choices=OwnerStrategy.choices)
    target_users = forms.MultipleChoiceField(
        label="Owners in the target org",
        required=False,
        widget=FilteredSelectMultiple("users", is_stacked=False),
        help_text="Fixed: choose one active user; round robin: one or more.",
    )

    class Meta:
        model = PublishedObject
        fields = ("sort_order", "sync_created", "sync_updated", "sync_deleted")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        publication = self.instance
        self.fields["filter_text"].initial = format_lines(conditions_from_json(publication.filter_conditions))
        self.fields["strategy"].initial = publication.owner_strategy
        self.fields["target_users"].initial = list(publication.owner_user_ids or [])
        self.fields["target_users"].choices = self._user_choices(publication)

    def _user_choices(self, publication: PublishedObject) -> list[tuple[str, str]]:
        """Active users of the target org, read live; chosen users no longer among them stay
        listed (marked) so the form shows what is stored."""
        try:
            choices = [(u.id, str(u)) for u in active_users(SalesforceClient(publication.target_org))]
        except SalesforceApiError as exc:
            note = f"Could not read the users of {publication.target_org}: {exc}"
            self.fields["target_users"].help_text = note
            choices = []
        listed = {value for value, _ in choices}
        missing = [
            (i, f"{i} (not an active user of the target org)") for i in publication.owner_user_ids or []
        ]
        return choices + [m for m in missing if m[0] not in listed]

    def clean(self) -> dict:
        data = super().clean()
        if "filter_text" in self.changed_data and "filter_text" in data:
            self._check_filter(data["filter_text"])
        if {"strategy", "target_users"} & set(self.changed_data) and "strategy" in data:
            self._check_owners(data["strategy"], self.chosen_users())
        return data

    def chosen_users(self) -> list[str]:
        """The users the strategy takes: none for match by username and pass through."""
        if self.cleaned_data.get("strategy") not in (OwnerStrategy.FIXED, OwnerStrategy.ROUND_ROBIN):
            return []
        return list(self.cleaned_data.get("target_users") or [])

    def _check_filter(self, text: str) -> None:
        try:
            services.publication_check_filter(publication=self.instance, text_or_conditions=text)
        except FilterTextError as exc:
            self.add_error("filter_text", exc.messages)
        except SalesforceApiError as exc:
            self.add_error(
                "filter_text", f"Could not read the fields of {self.instance.source_object}: {exc}"
            )

    def _check_owners(self, strategy: str, user_ids: list[str]) -> None:
        try:
            services.publication_check_owner_strategy(
                publication=self.instance, strategy=strategy, user_ids=user_ids
            )
        except OwnerStrategyError as exc:
            self.add_error("target_users", exc.messages)
        except SalesforceApiError as exc:
            self.add_error("target_users", f"Could not read the users of {self.instance.target_org}: {exc}")

    def save_settings(self, *, actor: AbstractBaseUser | None) -> None:
        """Save the filter and owner strategy through their services (each records its event)."""
        if "filter_text" in self.changed_data:
            services.publication_set_filter(
                publication=self.instance, text_or_conditions=self.cleaned_data["filter_text"], actor=actor
            )
        if {"strategy", "target_users"} & set(self.changed_data):
            services.publication_set_owner_strategy(
                publication=self.instance,
                strategy=self.cleaned_data["strategy"],
                user_ids=self.chosen_users(),
                actor=actor,
            )
