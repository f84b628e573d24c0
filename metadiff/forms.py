from django import forms

from metadiff.models import Deployment

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday")]
WEEKDAYS.append((6, "Sunday"))


class SynchronizeForm(forms.Form):
    """The options of *Synchronize Orgs* (the selection travels in hidden `add`/`delete` fields)."""

    validate_only = forms.BooleanField(
        label="Validate deployment",
        required=False,
        help_text="Check whether the deployment would succeed (and run the tests) without changing the org.",
    )
    test_level = forms.ChoiceField(
        label="Apex test level",
        choices=Deployment.TestLevel.choices,
        initial=Deployment.TestLevel.NO_TEST_RUN,
    )
    run_tests = forms.CharField(
        label="Test classes",
        required=False,
        help_text="For Run specified tests: class names, separated by commas.",
    )

    def clean(self):
        data = super().clean()
        if data.get("test_level") == Deployment.TestLevel.RUN_SPECIFIED_TESTS and not data.get("run_tests"):
            self.add_error("run_tests", "Name the test classes to run.")
        return data

    def test_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("run_tests", "").split(",") if t.strip()]


class ScheduleForm(forms.Form):
    repeat = forms.ChoiceField(
        choices=[("", "No schedule"), ("daily", "Repeat daily"), ("weekly", "Repeat weekly")], required=False
    )
    at = forms.TimeField(label="At", required=False, help_text="Time of day (HH:MM).")
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, initial=0, required=False)

    def clean(self):
        data = super().clean()
        if data.get("repeat") and data.get("at") is None:
            self.add_error("at", "A schedule needs a time of day.")
        return data
