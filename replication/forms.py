"""Admin forms for publishing and subscribing."""

from django import forms

from connections.client import SalesforceClient
from connections.client_errors import SalesforceApiError
from replication.mapping import check_mapping
from replication.models import PublishedField, PublishedObject, SubscribedField
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
