"""Admin forms for publishing and subscribing."""

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.models import AbstractBaseUser

from connections.client import SalesforceClient
from connections.client_errors import SalesforceApiError
from connections.models import Org
from replication import services
from replication.filter_syntax import FilterTextError, conditions_from_json, format_lines
from replication.mapping import check_mapping, object_publishable
from replication.models import (
    EXTERNAL_ID_FIELD,
    Direction,
    OwnerStrategy,
    PublishedField,
    PublishedObject,
    SubscribedField,
)
from replication.owners import OwnerStrategyError, active_users
from replication.services.subscription import duplicate_target_message, mapped_objects


def object_choices(org: Org) -> list[tuple[str, str]]:
    """The publishable objects of ``org``'s describe, as (API name, "Label (API_Name)")."""
    entries = SalesforceClient(org).describe_global()["sobjects"]
    usable = [e for e in entries if object_publishable(e).supported]
    return [
        (e["name"], f"{e.get('label') or e['name']} ({e['name']})") for e in sorted(usable, key=_by_label)
    ]


def _by_label(entry: dict) -> tuple[str, str]:
    return ((entry.get("label") or entry["name"]).lower(), entry["name"])


def target_field_choices(describe: dict) -> list[tuple[str, str]]:
    """The fields a mapping may write, as (API name, "Label (API_Name)"); orgsync's own
    identity field is never one of them."""
    fields = [
        f
        for f in describe["fields"]
        if (f.get("createable") or f.get("updateable")) and f["name"].lower() != EXTERNAL_ID_FIELD.lower()
    ]
    return [
        (f["name"], f"{f.get('label') or f['name']} ({f['name']})") for f in sorted(fields, key=_by_label)
    ]


class PublishForm(forms.ModelForm):
    """Connection, direction and a source object chosen from the source org's describe. Until
    the connection is known (several connections, none chosen yet) the object is typed; when the
    source org can't be read the form says so instead of publishing."""

    class Meta:
        model = PublishedObject
        fields = ("connection", "direction", "source_object")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.describe_error = ""
        connections = self.fields["connection"].queryset
        chosen = (self.data.get("connection") if self.is_bound else None) or self.initial.get("connection")
        if not chosen and not self.is_bound and connections.count() == 1:
            chosen = connections.get().pk
            self.initial["connection"] = chosen
        direction = (self.data.get("direction") if self.is_bound else None) or self.initial.get("direction")
        connection = connections.filter(pk=chosen).first() if str(chosen or "").isdigit() else None
        if connection is None:
            self.fields[
                "source_object"
            ].help_text = (
                "Choose the connection and direction, then “Show objects” to pick from the source org."
            )
            return
        probe = PublishedObject(connection=connection, direction=direction or Direction.PRIMARY_TO_SECONDARY)
        try:
            choices = object_choices(probe.source_org)
        except SalesforceApiError as exc:
            self.describe_error = f"Could not read the objects of {probe.source_org}: {exc}"
            self.fields["source_object"].help_text = self.describe_error
            return
        self.fields["source_object"] = forms.ChoiceField(
            label="Source object",
            choices=[("", "---------"), *choices],
            help_text=f"The publishable objects of {probe.source_org}.",
        )

    def clean(self) -> dict:
        data = super().clean()
        if self.describe_error and "source_object" not in self.errors:
            self.add_error(
                "source_object", f"{self.describe_error}. Check the org's connection, then try again."
            )
        return data

    def _get_validation_exclusions(self):
        # The model's unique (connection, direction, source object) is not this form's to
        # enforce: see validate_unique.
        return {*super()._get_validation_exclusions(), "source_object"}

    def validate_unique(self) -> None:
        """Publishing an object published before (and unpublished since) re-enables that
        publication, keeping its mappings and sort order: the service upserts it."""
        data = self.cleaned_data
        if not {"connection", "direction", "source_object"} <= set(data):
            return
        if PublishedObject.objects.filter(
            connection=data["connection"],
            direction=data["direction"],
            source_object__iexact=data["source_object"],
            is_published=True,
        ).exists():
            self.add_error(
                "source_object", f"{data['source_object']} is already published in this direction."
            )


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
    """Target fields are chosen from the target object's describe; every changed mapping is
    checked against the S2S rules with both orgs' live describe, and no two source fields may
    be mapped to one target field."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.target_describe: dict | None = None
        self.describe_error = ""
        if self.instance.pk:
            publication = self.instance.published_object
            try:
                self.target_describe = SalesforceClient(publication.target_org).describe(
                    self.instance.target_object
                )
            except SalesforceApiError as exc:
                self.describe_error = f"Could not read the fields of {self.instance.target_object}: {exc}"

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if self.target_describe is None:
            if self.describe_error:
                form.fields["target_field"].help_text = self.describe_error
            return form
        choices = target_field_choices(self.target_describe)
        current = form.instance.target_field if form.instance.pk else ""
        if current and current.lower() not in {name.lower() for name, _ in choices}:
            choices.append((current, f"{current} (not in the target org)"))
        form.fields["target_field"] = forms.ChoiceField(
            label="Target field", required=False, choices=[("", "— not synced —"), *choices]
        )
        return form

    def clean(self) -> None:
        super().clean()
        self._no_duplicate_targets()
        changed = [f for f in self.forms if f.has_changed() and f.cleaned_data.get("target_field")]
        if not changed:
            return
        publication = self.instance.published_object
        try:
            source = SalesforceClient(publication.source_org).describe(publication.source_object)
            target = self.target_describe or SalesforceClient(publication.target_org).describe(
                self.instance.target_object
            )
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

    def _no_duplicate_targets(self) -> None:
        """Two source fields mapped to one target field: an error on each changed one, naming
        both source fields."""
        by_target: dict[str, list[forms.Form]] = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data"):
                continue
            target = form.cleaned_data.get("target_field", form.instance.target_field)
            if target:
                by_target.setdefault(target.lower(), []).append(form)
        for forms_of_target in by_target.values():
            if len(forms_of_target) < 2 or not any(f.has_changed() for f in forms_of_target):
                continue
            names = [f.instance.source_field for f in forms_of_target]
            target = forms_of_target[0].cleaned_data.get("target_field")
            message = duplicate_target_message(target, names)
            for form in forms_of_target:
                if form.has_changed():
                    form.add_error("target_field", message)


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
