"""A publication's filter and owner strategy: the service, and the admin change page as an Org
Sync Administrator (errors on the form, history written)."""

import pytest
from django.urls import reverse

from connections.models import ConnectionEvent
from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.filter_syntax import FilterTextError
from replication.filters import Condition
from replication.models import PublishedObject
from replication.services import publication_set_filter
from tests.factories import UserFactory

Kind = ConnectionEvent.Kind


@pytest.fixture
def publication(linked):
    return PublishedObject.objects.create(connection=linked.connection, source_object="Account")


@pytest.fixture
def manager(db, client):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def events(kind: str) -> list[str]:
    return list(ConnectionEvent.objects.filter(kind=kind).order_by("id").values_list("detail", flat=True))


# ------------------------------------------------------------------------------ the service
def test_set_filter_stores_canonical_conditions_and_records_a_readable_event(publication):
    text = (
        "industry equals Banking\nANNUALREVENUE greater than 1000000\nType in_list Customer - Direct, Partner"
    )
    publication_set_filter(publication=publication, text_or_conditions=text, actor=None)
    publication.refresh_from_db()
    assert publication.filter_conditions == [
        {"field": "Industry", "operator": "equals", "value": "Banking"},
        {"field": "AnnualRevenue", "operator": "greater_than", "value": "1000000"},
        {"field": "Type", "operator": "in_list", "value": ["Customer - Direct", "Partner"]},
    ]
    [detail] = events(Kind.FILTER_CHANGED)
    assert detail.startswith("Account (Primary → secondary): Industry equals Banking; AnnualRevenue")

    publication_set_filter(
        publication=publication,
        text_or_conditions=(
            "Industry equals Banking\nAnnualRevenue > 1000000\nType in list Customer - Direct,Partner"
        ),
        actor=None,
    )
    assert len(events(Kind.FILTER_CHANGED)) == 1, "the same filter written differently changes nothing"

    publication_set_filter(publication=publication, text_or_conditions="", actor=None)
    publication.refresh_from_db()
    assert publication.filter_conditions == []
    assert "filter removed" in events(Kind.FILTER_CHANGED)[-1]


def test_set_filter_errors_name_the_line_the_field_and_the_fix(publication):
    text = (
        "Industry equals Banking\n\nIndustri equals Banking\nAnnualRevenue greater_than lots\nPhone frobs x"
    )
    with pytest.raises(FilterTextError) as caught:
        publication_set_filter(publication=publication, text_or_conditions=text, actor=None)
    assert caught.value.messages == ["Line 5: " + caught.value.errors[0].message], "syntax first"
    with pytest.raises(FilterTextError) as caught:
        publication_set_filter(
            publication=publication, text_or_conditions=text.rsplit("\n", 1)[0], actor=None
        )
    by_line = {e.line: e.message for e in caught.value.errors}
    assert sorted(by_line) == [3, 4]
    assert "Did you mean Industry" in by_line[3]
    assert "AnnualRevenue is a number" in by_line[4] and "lots" in by_line[4]
    publication.refresh_from_db()
    assert publication.filter_conditions == [] and not events(Kind.FILTER_CHANGED)


def test_set_filter_takes_conditions_too(publication):
    with pytest.raises(FilterTextError, match=r"Line 2: Account has no field 'Nope__c'"):
        publication_set_filter(
            publication=publication,
            text_or_conditions=[Condition("Phone", "is_blank"), Condition("Nope__c", "equals", "x")],
            actor=None,
        )
    publication_set_filter(
        publication=publication, text_or_conditions=[Condition("Phone", "is_blank")], actor=None
    )
    publication.refresh_from_db()
    assert publication.filter_conditions == [{"field": "Phone", "operator": "is_blank", "value": None}]


# -------------------------------------------------------------------------------- the admin
def change_url(publication: PublishedObject) -> str:
    return reverse("admin:replication_publishedobject_change", args=[publication.pk])


def form_data(publication: PublishedObject, **changes) -> dict:
    data = {
        "sort_order": publication.sort_order,
        "sync_created": "on",
        "sync_updated": "on",
        "sync_deleted": "on",
        "filter_text": "",
        "strategy": publication.owner_strategy,
        "fields-TOTAL_FORMS": 0,
        "fields-INITIAL_FORMS": 0,
    }
    return {**data, **changes}


def test_the_change_page_offers_the_filter_and_the_target_orgs_active_users(manager, linked, publication):
    linked.secondary.org.add_user(last_name="Owner", first_name="Olivia")
    linked.secondary.org.add_user(last_name="Sleeper", first_name="Sam", active=False)
    linked.primary.org.add_user(last_name="Primary", first_name="Pat")
    publication.filter_conditions = [{"field": "Type", "operator": "in_list", "value": ["A, B", "C"]}]
    publication.save()
    html = manager.get(change_url(publication)).content.decode()
    assert 'name="filter_text"' in html and "Type in_list &quot;A, B&quot;, C" in html
    assert 'name="strategy"' in html and "Round robin" in html
    assert "Olivia Owner" in html, "active users of the target org"
    assert "Sam Sleeper" not in html and "Pat Primary" not in html


def test_saving_a_filter_and_an_owner_strategy_through_the_admin(manager, linked, publication):
    olivia = linked.secondary.org.add_user(last_name="Owner", first_name="Olivia").user_id
    answer = manager.post(
        change_url(publication),
        form_data(
            publication,
            filter_text="Industry equals Banking\r\nPhone is not blank\r\n",
            strategy="fixed",
            target_users=[olivia],
        ),
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    publication.refresh_from_db()
    assert publication.filter_conditions == [
        {"field": "Industry", "operator": "equals", "value": "Banking"},
        {"field": "Phone", "operator": "is_not_blank", "value": None},
    ]
    assert publication.owner_strategy == "fixed" and publication.owner_user_ids == [olivia]
    assert events(Kind.FILTER_CHANGED) == [
        "Account (Primary → secondary): Industry equals Banking; Phone is_not_blank"
    ]
    [owner_event] = events(Kind.OPTION_CHANGED)
    assert "Fixed owner" in owner_event and "Olivia Owner" in owner_event
    assert ConnectionEvent.objects.filter(kind=Kind.FILTER_CHANGED).get().actor is not None

    html = manager.get(change_url(publication)).content.decode()
    assert "Industry equals Banking\nPhone is_not_blank" in html, "the stored filter is shown back"

    again = manager.post(
        change_url(publication),
        form_data(
            publication,
            filter_text="Industry equals Banking\nPhone is_not_blank",
            strategy="match_username",
            target_users=[olivia],
        ),
    )
    assert again.status_code == 302
    publication.refresh_from_db()
    assert publication.owner_strategy == "match_username" and publication.owner_user_ids == []
    assert len(events(Kind.FILTER_CHANGED)) == 1 and len(events(Kind.OPTION_CHANGED)) == 2


def test_errors_are_rendered_on_the_form_and_nothing_is_saved(manager, linked, publication):
    a = linked.secondary.org.add_user(last_name="Alpha").user_id
    b = linked.secondary.org.add_user(last_name="Beta").user_id
    answer = manager.post(
        change_url(publication),
        form_data(
            publication,
            sort_order=99,
            filter_text="Industry equals Banking\nIndustri equals Banking\nAnnualRevenue equal 5",
            strategy="fixed",
            target_users=[a, b],
        ),
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Line 3: Unknown operator" in html and "did you mean equals" in html
    assert "exactly one" in html
    publication.refresh_from_db()
    assert publication.sort_order != 99 and publication.filter_conditions == []
    assert publication.owner_strategy == "match_username"

    answer = manager.post(
        change_url(publication), form_data(publication, filter_text="Industri equals Banking")
    )
    assert "Line 1: Account has no field" in answer.content.decode()
    assert "Did you mean Industry" in answer.content.decode()
    assert not ConnectionEvent.objects.filter(kind__in=[Kind.FILTER_CHANGED, Kind.OPTION_CHANGED]).exists()


def test_a_chosen_user_deactivated_since_is_shown_and_refused(manager, linked, publication):
    fay = linked.secondary.org.add_user(last_name="Fay").user_id
    publication.owner_strategy, publication.owner_user_ids = "fixed", [fay]
    publication.save()
    linked.secondary.org.set_user_active(fay, False)
    assert "not an active user" in manager.get(change_url(publication)).content.decode()
    answer = manager.post(
        change_url(publication), form_data(publication, strategy="round_robin", target_users=[fay])
    )
    assert answer.status_code == 200 and "is inactive in" in answer.content.decode()


def test_operators_can_neither_see_nor_change_the_settings(client, linked, publication):
    client.force_login(UserFactory(groups=[OPERATORS]))
    page = client.get(change_url(publication))
    assert page.status_code == 403
    answer = client.post(change_url(publication), form_data(publication, filter_text="Phone is_blank"))
    assert answer.status_code == 403
    publication.refresh_from_db()
    assert publication.filter_conditions == []


def test_viewers_see_the_filter_and_owner_strategy_read_only(client, linked, publication):
    from django.contrib.auth.models import Permission

    viewer = UserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_publishedobject"))
    client.force_login(viewer)
    publication.filter_conditions = [{"field": "Industry", "operator": "equals", "value": "Banking"}]
    publication.save()
    page = client.get(change_url(publication))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Industry equals Banking" in html and 'name="filter_text"' not in html
    assert "Match by username" in html
