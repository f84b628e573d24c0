"""Standard sales objects: Account, Contact, Lead, Opportunity, Product2, Campaign, CampaignMember.

Field order, types, lengths and flags follow real describes
(REC:cumulusci/GET_sobjects_{Account,Contact}_describe.yaml, REC:grouparoo/describe_Lead_v42.json).
"""

from __future__ import annotations

from sfemu.schema.spec import (
    CLEAN_STATUS,
    INDUSTRY,
    LEAD_SOURCE,
    RATING,
    SALUTATION,
    FieldSpec,
    ObjectSpec,
    address,
    audit_fields,
    f_bool,
    f_date,
    f_datetime,
    f_deleted,
    f_email,
    f_id,
    f_int,
    f_num,
    f_phone,
    f_pick,
    f_ref,
    f_text,
    f_textarea,
    f_url,
    master_record,
    owner,
    pick,
    readonly,
    record_type_field,
    viewed_fields,
)

OPPORTUNITY_STAGES: dict[str, tuple[int, str, bool, bool]] = {
    # stage: (probability, forecast category name, closed, won)
    "Prospecting": (10, "Pipeline", False, False),
    "Qualification": (10, "Pipeline", False, False),
    "Needs Analysis": (20, "Pipeline", False, False),
    "Value Proposition": (50, "Pipeline", False, False),
    "Id. Decision Makers": (60, "Pipeline", False, False),
    "Perception Analysis": (70, "Pipeline", False, False),
    "Proposal/Price Quote": (75, "Pipeline", False, False),
    "Negotiation/Review": (90, "Pipeline", False, False),
    "Closed Won": (100, "Closed", True, True),
    "Closed Lost": (0, "Omitted", True, False),
}
FORECAST_CATEGORY = {
    "Omitted": "Omitted",
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
}


def set_order(values: object) -> list[str]:
    """Unique values, first occurrence order."""
    seen: list[str] = []
    for v in values:  # type: ignore[attr-defined]
        if v not in seen:
            seen.append(v)
    return seen


def _photo() -> object:
    return readonly(
        f_url(
            "PhotoUrl",
            "Photo URL",
            extra_type_info="imageurl",
            permissionable=False,
            role="photo_url",
        )
    )


def _dandb_company() -> FieldSpec:
    """Account/Lead ``DandbCompanyId`` (REC:cumulusci Account describe, REC:grouparoo Lead v42)."""
    return f_ref("DandbCompanyId", "D&B Company ID", "DandBCompany", "DandbCompany")


def _individual() -> FieldSpec:
    """Contact/Lead ``IndividualId`` (data privacy record), not permissionable in real describes."""
    return f_ref("IndividualId", "Individual ID", "Individual", "Individual", permissionable=False)


def _person_name(length: int = 121) -> list:
    kw = {"compound_field_name": "Name", "extra_type_info": "personname"}
    return [
        f_text("LastName", "Last Name", 80, nillable=False, **kw),
        f_text("FirstName", "First Name", 40, permissionable=False, **kw),
        f_pick("Salutation", "Salutation", SALUTATION, permissionable=False, **kw),
        readonly(
            f_text(
                "Name",
                "Full Name",
                length,
                nillable=False,
                name_field=True,
                extra_type_info="personname",
                role="person_name",
            )
        ),
    ]


ACCOUNT = ObjectSpec(
    "Account",
    "Account",
    "Accounts",
    "001",
    mergeable=True,
    feed_enabled=True,
    supported_scopes=(
        ("everything", "All accounts"),
        ("mine", "My accounts"),
        ("team", "My team's accounts"),
    ),
    fields=[
        f_id("Account ID"),
        f_deleted(),
        master_record("Account"),
        f_text("Name", "Account Name", 255, nillable=False, name_field=True),
        f_pick(
            "Type",
            "Account Type",
            pick(
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ),
        ),
        record_type_field(),
        f_ref("ParentId", "Parent Account ID", "Account", "Parent", child_relationship="ChildAccounts"),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        f_phone("Phone", "Account Phone"),
        f_phone("Fax", "Account Fax"),
        f_text("AccountNumber", "Account Number", 40),
        f_url("Website", "Website"),
        _photo(),
        f_text("Sic", "SIC Code", 20),
        f_pick("Industry", "Industry", INDUSTRY),
        f_num("AnnualRevenue", "Annual Revenue", "currency", 18, 0),
        f_int("NumberOfEmployees", "Employees", digits=8),
        f_pick("Ownership", "Ownership", pick("Public", "Private", "Subsidiary", "Other")),
        f_text("TickerSymbol", "Ticker Symbol", 20),
        f_textarea("Description", "Account Description"),
        f_pick("Rating", "Account Rating", RATING),
        f_text("Site", "Account Site", 80),
        owner(),
        *audit_fields(),
        readonly(f_date("LastActivityDate", "Last Activity")),
        *viewed_fields(),
        f_text("Jigsaw", "Data.com Key", 20),
        readonly(f_text("JigsawCompanyId", "Jigsaw Company ID", 20, relationship_name="JigsawCompany")),
        f_pick("CleanStatus", "Clean Status", CLEAN_STATUS, restricted_picklist=True, role="clean_status"),
        f_pick("AccountSource", "Account Source", LEAD_SOURCE),
        f_text("DunsNumber", "D-U-N-S Number", 9),
        f_text("Tradestyle", "Tradestyle", 255),
        f_text("NaicsCode", "NAICS Code", 8),
        f_text("NaicsDesc", "NAICS Description", 120),
        f_text("YearStarted", "Year Started", 4),
        f_text("SicDesc", "SIC Description", 80),
        _dandb_company(),
        f_ref("OperatingHoursId", "Operating Hour ID", "OperatingHours", "OperatingHours"),
    ],
)

CONTACT = ObjectSpec(
    "Contact",
    "Contact",
    "Contacts",
    "003",
    mergeable=True,
    feed_enabled=True,
    supported_scopes=(
        ("everything", "All contacts"),
        ("mine", "My contacts"),
        ("team", "My team's contacts"),
    ),
    fields=[
        f_id("Contact ID"),
        f_deleted(),
        master_record("Contact"),
        f_ref(
            "AccountId",
            "Account ID",
            "Account",
            "Account",
            cascade_delete=True,
            child_relationship="Contacts",
        ),
        *_person_name(),
        record_type_field(),
        *address("Other", "Other"),
        *address("Mailing", "Mailing"),
        f_phone("Phone", "Business Phone"),
        f_phone("Fax", "Business Fax"),
        f_phone("MobilePhone", "Mobile Phone"),
        f_phone("HomePhone", "Home Phone"),
        f_phone("OtherPhone", "Other Phone"),
        f_phone("AssistantPhone", "Asst. Phone"),
        f_ref("ReportsToId", "Reports To ID", "Contact", "ReportsTo"),
        f_email("Email", "Email", id_lookup=True),
        f_text("Title", "Title", 128),
        f_text("Department", "Department", 80),
        f_text("AssistantName", "Assistant's Name", 40),
        f_pick("LeadSource", "Lead Source", LEAD_SOURCE),
        f_date("Birthdate", "Birthdate"),
        f_textarea("Description", "Contact Description"),
        owner(),
        *audit_fields(),
        readonly(f_date("LastActivityDate", "Last Activity")),
        readonly(f_datetime("LastCURequestDate", "Last Stay-in-Touch Request Date")),
        readonly(f_datetime("LastCUUpdateDate", "Last Stay-in-Touch Save Date")),
        *viewed_fields(),
        f_text("EmailBouncedReason", "Email Bounced Reason", 255, permissionable=False),
        f_datetime("EmailBouncedDate", "Email Bounced Date", permissionable=False),
        readonly(f_bool("IsEmailBounced", "Is Email Bounced", permissionable=False)),
        _photo(),
        f_text("Jigsaw", "Data.com Key", 20),
        readonly(f_text("JigsawContactId", "Jigsaw Contact ID", 20, relationship_name="JigsawContact")),
        f_pick("CleanStatus", "Clean Status", CLEAN_STATUS, restricted_picklist=True, role="clean_status"),
        _individual(),
    ],
)

LEAD = ObjectSpec(
    "Lead",
    "Lead",
    "Leads",
    "00Q",
    mergeable=True,
    feed_enabled=True,
    supported_scopes=(
        ("everything", "All leads"),
        ("mine", "My leads"),
        ("queue_owned", "My queues' leads"),
        ("team", "My team's leads"),
    ),
    fields=[
        f_id("Lead ID"),
        f_deleted(),
        master_record("Lead"),
        *_person_name(),
        record_type_field(),
        f_text("Title", "Title", 128),
        f_text("Company", "Company", 255, nillable=False),
        *address("", ""),
        f_phone("Phone", "Phone"),
        f_phone("MobilePhone", "Mobile Phone"),
        f_phone("Fax", "Fax"),
        f_email("Email", "Email", id_lookup=True),
        f_url("Website", "Website"),
        _photo(),
        f_textarea("Description", "Description"),
        f_pick("LeadSource", "Lead Source", LEAD_SOURCE),
        f_pick(
            "Status",
            "Status",
            pick(
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
                default="Open - Not Contacted",
            ),
            nillable=False,
            defaulted_on_create=True,
            permissionable=False,
        ),
        f_pick("Industry", "Industry", INDUSTRY),
        f_pick("Rating", "Rating", RATING),
        f_num("AnnualRevenue", "Annual Revenue", "currency", 18, 0),
        f_int("NumberOfEmployees", "Employees", digits=8),
        owner(to=("Group", "User")),
        f_bool("IsConverted", "Converted", createable=True, updateable=False, permissionable=False),
        readonly(f_date("ConvertedDate", "Converted Date")),
        readonly(
            f_ref(
                "ConvertedAccountId",
                "Converted Account ID",
                "Account",
                "ConvertedAccount",
                search_prefilterable=True,
            )
        ),
        readonly(
            f_ref(
                "ConvertedContactId",
                "Converted Contact ID",
                "Contact",
                "ConvertedContact",
                search_prefilterable=True,
            )
        ),
        readonly(
            f_ref(
                "ConvertedOpportunityId",
                "Converted Opportunity ID",
                "Opportunity",
                "ConvertedOpportunity",
                search_prefilterable=True,
            )
        ),
        # describe says defaultValue false, but an API insert sets it true (derive.py, REC:grouparoo)
        f_bool("IsUnreadByOwner", "Unread By Owner", permissionable=False).with_(default_value=None),
        *audit_fields(),
        readonly(f_date("LastActivityDate", "Last Activity")),
        *viewed_fields(),
        f_text("Jigsaw", "Data.com Key", 20),
        readonly(f_text("JigsawContactId", "Jigsaw Contact ID", 20, relationship_name="JigsawContact")),
        f_pick(
            "CleanStatus",
            "Clean Status",
            CLEAN_STATUS,
            restricted_picklist=True,
            role="clean_status",
        ),
        f_text("CompanyDunsNumber", "Company D-U-N-S Number", 9),
        _dandb_company(),
        f_text("EmailBouncedReason", "Email Bounced Reason", 255, createable=False),
        f_datetime("EmailBouncedDate", "Email Bounced Date", createable=False),
        _individual(),
    ],
)

OPPORTUNITY = ObjectSpec(
    "Opportunity",
    "Opportunity",
    "Opportunities",
    "006",
    feed_enabled=True,
    supported_scopes=(
        ("everything", "All opportunities"),
        ("mine", "My opportunities"),
        ("team", "My team's opportunities"),
    ),
    fields=[
        f_id("Opportunity ID"),
        f_deleted(),
        f_ref(
            "AccountId",
            "Account ID",
            "Account",
            "Account",
            cascade_delete=True,
            child_relationship="Opportunities",
        ),
        record_type_field(),
        f_bool("IsPrivate", "Private"),
        f_text("Name", "Name", 120, nillable=False, name_field=True),
        f_textarea("Description", "Description"),
        f_pick(
            "StageName",
            "Stage",
            pick(*OPPORTUNITY_STAGES),
            length=255,
            nillable=False,
            permissionable=False,
        ),
        f_num("Amount", "Amount", "currency", 18, 2),
        f_num("Probability", "Probability (%)", "percent", 3, 0),
        readonly(f_num("ExpectedRevenue", "Expected Amount", "currency", 18, 2)),
        f_num("TotalOpportunityQuantity", "Quantity", "double", 18, 2),
        f_date("CloseDate", "Close Date", nillable=False, permissionable=False),
        f_pick(
            "Type",
            "Opportunity Type",
            pick(
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ),
        ),
        f_text("NextStep", "Next Step", 255),
        f_pick("LeadSource", "Lead Source", LEAD_SOURCE),
        readonly(f_bool("IsClosed", "Closed")),
        readonly(f_bool("IsWon", "Won")),
        readonly(
            f_pick(
                "ForecastCategory",
                "Forecast Category",
                pick(*set_order(FORECAST_CATEGORY.values())),
                restricted_picklist=True,
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        f_pick(
            "ForecastCategoryName",
            "Forecast Category",
            pick(*FORECAST_CATEGORY),
            restricted_picklist=True,
        ),
        readonly(f_bool("HasOpportunityLineItem", "Has Line Item")),
        owner(),
        *audit_fields(),
        readonly(f_date("LastActivityDate", "Last Activity")),
        readonly(f_datetime("LastStageChangeDate", "Last Stage Change Date")),
        readonly(f_int("FiscalQuarter", "Fiscal Quarter", digits=2)),
        readonly(f_int("FiscalYear", "Fiscal Year", digits=4)),
        readonly(f_text("Fiscal", "Fiscal Period", 6)),
        f_ref("ContactId", "Contact ID", "Contact", "Contact", child_relationship="Opportunities"),
        *viewed_fields(),
        readonly(f_bool("HasOpenActivity", "Has Open Activity")),
        readonly(f_bool("HasOverdueTask", "Has Overdue Task")),
    ],
)


PRODUCT2 = ObjectSpec(
    "Product2",
    "Product",
    "Products",
    "01t",
    mru_enabled=True,
    feed_enabled=True,
    supported_scopes=(("everything", "All products"),),
    fields=[
        f_id("Product ID"),
        f_text("Name", "Product Name", 255, nillable=False, name_field=True),
        f_text("ProductCode", "Product Code", 255),
        f_textarea("Description", "Product Description", 4000, extra_type_info=None),
        f_bool("IsActive", "Active"),
        record_type_field(),
        *audit_fields()[:4],
        f_pick("Family", "Product Family", pick("None")),
        audit_fields()[4],
        f_deleted(),
        readonly(f_bool("IsArchived", "Archived")),
        f_text("ExternalId", "External ID", 255),
        f_url("DisplayUrl", "Display URL", length=1000),
        f_pick("QuantityUnitOfMeasure", "Quantity Unit Of Measure", pick("Each")),
        f_text("StockKeepingUnit", "Product SKU", 180),
        *viewed_fields(),
    ],
)

# Campaign and CampaignMember: the main fields of real describes in their order (rollup counters
# such as NumberOfLeads and the Hierarchy* sums are not modelled). Prefixes 701 / 00v (REF §4.2).
CAMPAIGN = ObjectSpec(
    "Campaign",
    "Campaign",
    "Campaigns",
    "701",
    feed_enabled=True,
    supported_scopes=(
        ("everything", "All campaigns"),
        ("mine", "My campaigns"),
        ("team", "My team's campaigns"),
    ),
    fields=[
        f_id("Campaign ID"),
        f_deleted(),
        f_text("Name", "Name", 80, nillable=False, name_field=True),
        f_ref("ParentId", "Parent Campaign ID", "Campaign", "Parent", child_relationship="ChildCampaigns"),
        f_pick(
            "Type",
            "Type",
            pick(
                "Conference",
                "Webinar",
                "Trade Show",
                "Public Relations",
                "Partners",
                "Referral Program",
                "Advertisement",
                "Banner Ads",
                "Direct Mail",
                "Email",
                "Telemarketing",
                "Other",
            ),
        ),
        record_type_field(),
        f_pick(
            "Status",
            "Status",
            pick("Planned", "In Progress", "Completed", "Aborted", default="Planned"),
            defaulted_on_create=True,
        ),
        f_date("StartDate", "Start Date"),
        f_date("EndDate", "End Date"),
        f_num("ExpectedRevenue", "Expected Revenue in Campaign", "currency", 18, 0),
        f_num("BudgetedCost", "Budgeted Cost in Campaign", "currency", 18, 0),
        f_num("ActualCost", "Actual Cost in Campaign", "currency", 18, 0),
        f_num("ExpectedResponse", "Expected Response (%)", "percent", 10, 2),
        f_num("NumberSent", "Num Sent in Campaign", "double", 18, 0),
        f_bool("IsActive", "Active"),
        f_textarea("Description", "Description"),
        owner(),
        *audit_fields(),
        readonly(f_date("LastActivityDate", "Last Activity")),
        *viewed_fields(),
        f_ref("CampaignMemberRecordTypeId", "Campaign Member Type", "RecordType", "CampaignMemberRecordType"),
    ],
)


CAMPAIGN_MEMBER = ObjectSpec(
    "CampaignMember",
    "Campaign Member",
    "Campaign Members",
    "00v",
    searchable=False,
    mru_enabled=False,
    undeletable=False,
    supported_scopes=(),
    describe_urls="minimal",
    fields=[
        f_id("Campaign Member ID"),
        f_deleted(),
        f_ref(
            "CampaignId",
            "Campaign ID",
            "Campaign",
            "Campaign",
            nillable=False,
            updateable=False,
            cascade_delete=True,
            child_relationship="CampaignMembers",
        ),
        f_ref(
            "LeadId",
            "Lead ID",
            "Lead",
            "Lead",
            updateable=False,
            cascade_delete=True,
            child_relationship="CampaignMembers",
        ),
        f_ref(
            "ContactId",
            "Contact ID",
            "Contact",
            "Contact",
            updateable=False,
            cascade_delete=True,
            child_relationship="CampaignMembers",
        ),
        # the default member statuses of a new campaign: Sent (default) and Responded
        f_pick("Status", "Status", pick("Sent", "Responded", default="Sent"), defaulted_on_create=True),
        readonly(f_bool("HasResponded", "Responded")),
        *audit_fields(),
        readonly(f_date("FirstRespondedDate", "First Responded Date")),
        # copied from the member's Contact or Lead on save (derive.py)
        readonly(f_pick("Salutation", "Salutation", SALUTATION)),
        readonly(f_text("Name", "Name", 121, name_field=True)),
        readonly(f_text("FirstName", "First Name", 40)),
        readonly(f_text("LastName", "Last Name", 80)),
        readonly(f_text("Title", "Title", 128)),
        readonly(f_text("Street", "Street", 255)),
        readonly(f_text("City", "City", 40)),
        readonly(f_text("State", "State/Province", 80)),
        readonly(f_text("PostalCode", "Zip/Postal Code", 20)),
        readonly(f_text("Country", "Country", 80)),
        readonly(f_email("Email", "Email")),
        readonly(f_phone("Phone", "Phone")),
        readonly(f_phone("Fax", "Fax")),
        readonly(f_phone("MobilePhone", "Mobile")),
        readonly(f_textarea("Description", "Description")),
        readonly(f_bool("DoNotCall", "Do Not Call")),
        readonly(f_bool("HasOptedOutOfEmail", "Email Opt Out")),
        readonly(f_bool("HasOptedOutOfFax", "Fax Opt Out")),
        readonly(f_pick("LeadSource", "Lead Source", LEAD_SOURCE)),
        readonly(f_text("CompanyOrAccount", "Company (Account)", 255)),
        readonly(f_text("Type", "Type", 40)),
        readonly(f_ref("LeadOrContactId", "Lead/Contact ID", ("Contact", "Lead"), None)),
        readonly(f_ref("LeadOrContactOwnerId", "Lead/Contact Owner ID", ("Group", "User"), None)),
    ],
)

SALES_OBJECTS = [ACCOUNT, CONTACT, LEAD, OPPORTUNITY, PRODUCT2, CAMPAIGN, CAMPAIGN_MEMBER]
