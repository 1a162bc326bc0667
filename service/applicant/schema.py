"""The Home Credit Default Risk schema: the eight Kaggle tables, their columns in file order and kinds.

This module is the single description of the input data. Kinds are the types pandas infers when it reads the
*full* Kaggle files (a column that is integral in a small sample but holds missing values in the full
file, such as ``CNT_FAM_MEMBERS`` or ``AMT_ANNUITY``, is ``"float"``). ``categories`` lists the labels known
to occur in Kaggle for a text column, without ``"XNA"``, which Kaggle uses for "missing" and the loader
turns into NaN; ``"XAP"`` ("not applicable") is a real category and kept. Descriptions are our own wording.

Nothing here reads files: the schema is embedded so that the package works without the reference data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CHILD_TABLES",
    "MISSING_LABEL",
    "NOT_APPLICABLE_LABEL",
    "REQUIRED_TABLES",
    "SENTINEL_DAYS",
    "SENTINEL_DAYS_COLUMNS",
    "TABLES",
    "ColumnSpec",
    "Kind",
    "TableSchema",
    "schema_table",
]

Kind = Literal["int", "float", "str"]

SENTINEL_DAYS = 365243
"""Kaggle's placeholder for "no date" in DAYS_* columns (about 1,000 years in the future)."""

MISSING_LABEL = "XNA"
"""Kaggle's label for a missing value in text columns."""

NOT_APPLICABLE_LABEL = "XAP"
"""Kaggle's label for "not applicable"; a real category, not a missing value."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a Kaggle table."""

    name: str
    kind: Kind
    categories: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class TableSchema:
    """One Kaggle file: its table name, file name and columns in file order."""

    name: str
    file_name: str
    columns: tuple[ColumnSpec, ...]
    _index: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.name: c for c in self.columns})

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name``; KeyError naming the table when it does not exist."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"{self.file_name} has no column {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def column_names(self) -> list[str]:
        """Column names in Kaggle file order."""
        return [c.name for c in self.columns]


def _i(name: str, description: str) -> ColumnSpec:
    return ColumnSpec(name, "int", (), description)


def _f(name: str, description: str) -> ColumnSpec:
    return ColumnSpec(name, "float", (), description)


def _s(name: str, description: str, categories: tuple[str, ...]) -> ColumnSpec:
    return ColumnSpec(name, "str", categories, description)


_APPLICATION_TRAIN = (
    _i("SK_ID_CURR", "applicant (current loan application) id"),
    _i("TARGET", "1 = the client had payment difficulties on this loan, 0 = otherwise"),
    _s("NAME_CONTRACT_TYPE", "cash or revolving loan", ("Cash loans", "Revolving loans")),
    _s("CODE_GENDER", "gender (XNA = unknown)", ("F", "M")),
    _s("FLAG_OWN_CAR", "owns a car (Y/N)", ("N", "Y")),
    _s("FLAG_OWN_REALTY", "owns a house or flat (Y/N)", ("N", "Y")),
    _i("CNT_CHILDREN", "number of children"),
    _f("AMT_INCOME_TOTAL", "declared annual income"),
    _f("AMT_CREDIT", "amount lent"),
    _f("AMT_ANNUITY", "periodic repayment of the loan"),
    _f("AMT_GOODS_PRICE", "price of the goods financed (consumer loans)"),
    _s(
        "NAME_TYPE_SUITE",
        "who came with the applicant",
        ("Unaccompanied", "Family", "Spouse, partner", "Children", "Other_A", "Other_B", "Group of people"),
    ),
    _s(
        "NAME_INCOME_TYPE",
        "source of income",
        (
            "Working",
            "Commercial associate",
            "Pensioner",
            "State servant",
            "Unemployed",
            "Student",
            "Businessman",
            "Maternity leave",
        ),
    ),
    _s(
        "NAME_EDUCATION_TYPE",
        "highest education level",
        (
            "Secondary / secondary special",
            "Higher education",
            "Incomplete higher",
            "Lower secondary",
            "Academic degree",
        ),
    ),
    _s(
        "NAME_FAMILY_STATUS",
        "marital status",
        ("Married", "Single / not married", "Civil marriage", "Separated", "Widow", "Unknown"),
    ),
    _s(
        "NAME_HOUSING_TYPE",
        "housing situation",
        (
            "House / apartment",
            "With parents",
            "Municipal apartment",
            "Rented apartment",
            "Office apartment",
            "Co-op apartment",
        ),
    ),
    _f("REGION_POPULATION_RELATIVE", "relative population of the home region (normalised)"),
    _i("DAYS_BIRTH", "age, as days before the application (negative)"),
    _i(
        "DAYS_EMPLOYED",
        "start of current job, days before the application (365243 = not employed, e.g. pensioners)",
    ),
    _f("DAYS_REGISTRATION", "last change of registration, days before the application"),
    _i("DAYS_ID_PUBLISH", "last change of identity document, days before the application"),
    _f("OWN_CAR_AGE", "age of the car in years"),
    _i("FLAG_MOBIL", "gave a mobile phone number (1/0)"),
    _i("FLAG_EMP_PHONE", "gave an employer phone number (1/0)"),
    _i("FLAG_WORK_PHONE", "gave a work phone number (1/0)"),
    _i("FLAG_CONT_MOBILE", "mobile phone was reachable (1/0)"),
    _i("FLAG_PHONE", "gave a home phone number (1/0)"),
    _i("FLAG_EMAIL", "gave an email address (1/0)"),
    _s(
        "OCCUPATION_TYPE",
        "occupation",
        (
            "Laborers",
            "Sales staff",
            "Core staff",
            "Managers",
            "Drivers",
            "High skill tech staff",
            "Accountants",
            "Medicine staff",
            "Security staff",
            "Cooking staff",
            "Cleaning staff",
            "Private service staff",
            "Low-skill Laborers",
            "Waiters/barmen staff",
            "Secretaries",
            "Realty agents",
            "HR staff",
            "IT staff",
        ),
    ),
    _f("CNT_FAM_MEMBERS", "family size"),
    _i("REGION_RATING_CLIENT", "lender rating of the home region (1-3)"),
    _i("REGION_RATING_CLIENT_W_CITY", "lender rating of the home region and city (1-3)"),
    _s(
        "WEEKDAY_APPR_PROCESS_START",
        "weekday of the application",
        ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
    ),
    _i("HOUR_APPR_PROCESS_START", "hour of the application (rounded)"),
    _i("REG_REGION_NOT_LIVE_REGION", "registered and contact addresses in different regions (1/0)"),
    _i("REG_REGION_NOT_WORK_REGION", "registered and work addresses in different regions (1/0)"),
    _i("LIVE_REGION_NOT_WORK_REGION", "contact and work addresses in different regions (1/0)"),
    _i("REG_CITY_NOT_LIVE_CITY", "registered and contact addresses in different cities (1/0)"),
    _i("REG_CITY_NOT_WORK_CITY", "registered and work addresses in different cities (1/0)"),
    _i("LIVE_CITY_NOT_WORK_CITY", "contact and work addresses in different cities (1/0)"),
    _s(
        "ORGANIZATION_TYPE",
        "employer sector (XNA = none, e.g. pensioners)",
        (
            "Business Entity Type 1",
            "Business Entity Type 2",
            "Business Entity Type 3",
            "Self-employed",
            "Government",
            "Other",
            "Medicine",
            "School",
            "Kindergarten",
            "University",
            "Construction",
            "Housing",
            "Agriculture",
            "Military",
            "Police",
            "Security",
            "Security Ministries",
            "Emergency",
            "Bank",
            "Insurance",
            "Realtor",
            "Legal Services",
            "Advertising",
            "Services",
            "Cleaning",
            "Restaurant",
            "Hotel",
            "Culture",
            "Religion",
            "Postal",
            "Telecom",
            "Mobile",
            "Electricity",
            "Industry: type 1",
            "Industry: type 2",
            "Industry: type 3",
            "Industry: type 4",
            "Industry: type 5",
            "Industry: type 6",
            "Industry: type 7",
            "Industry: type 8",
            "Industry: type 9",
            "Industry: type 10",
            "Industry: type 11",
            "Industry: type 12",
            "Industry: type 13",
            "Trade: type 1",
            "Trade: type 2",
            "Trade: type 3",
            "Trade: type 4",
            "Trade: type 5",
            "Trade: type 6",
            "Trade: type 7",
            "Transport: type 1",
            "Transport: type 2",
            "Transport: type 3",
            "Transport: type 4",
        ),
    ),
    _f("EXT_SOURCE_1", "external score 1, in [0, 1]"),
    _f("EXT_SOURCE_2", "external score 2, in [0, 1]"),
    _f("EXT_SOURCE_3", "external score 3, in [0, 1]"),
    _f("APARTMENTS_AVG", "building: apartment size (mean, normalised)"),
    _f("BASEMENTAREA_AVG", "building: basement area (mean, normalised)"),
    _f("YEARS_BEGINEXPLUATATION_AVG", "building: years since the building entered use (mean, normalised)"),
    _f("YEARS_BUILD_AVG", "building: building age (mean, normalised)"),
    _f("COMMONAREA_AVG", "building: common area (mean, normalised)"),
    _f("ELEVATORS_AVG", "building: number of elevators (mean, normalised)"),
    _f("ENTRANCES_AVG", "building: number of entrances (mean, normalised)"),
    _f("FLOORSMAX_AVG", "building: highest floor (mean, normalised)"),
    _f("FLOORSMIN_AVG", "building: lowest floor (mean, normalised)"),
    _f("LANDAREA_AVG", "building: land area (mean, normalised)"),
    _f("LIVINGAPARTMENTS_AVG", "building: living apartments (mean, normalised)"),
    _f("LIVINGAREA_AVG", "building: living area (mean, normalised)"),
    _f("NONLIVINGAPARTMENTS_AVG", "building: non-living apartments (mean, normalised)"),
    _f("NONLIVINGAREA_AVG", "building: non-living area (mean, normalised)"),
    _f("APARTMENTS_MODE", "building: apartment size (mode, normalised)"),
    _f("BASEMENTAREA_MODE", "building: basement area (mode, normalised)"),
    _f("YEARS_BEGINEXPLUATATION_MODE", "building: years since the building entered use (mode, normalised)"),
    _f("YEARS_BUILD_MODE", "building: building age (mode, normalised)"),
    _f("COMMONAREA_MODE", "building: common area (mode, normalised)"),
    _f("ELEVATORS_MODE", "building: number of elevators (mode, normalised)"),
    _f("ENTRANCES_MODE", "building: number of entrances (mode, normalised)"),
    _f("FLOORSMAX_MODE", "building: highest floor (mode, normalised)"),
    _f("FLOORSMIN_MODE", "building: lowest floor (mode, normalised)"),
    _f("LANDAREA_MODE", "building: land area (mode, normalised)"),
    _f("LIVINGAPARTMENTS_MODE", "building: living apartments (mode, normalised)"),
    _f("LIVINGAREA_MODE", "building: living area (mode, normalised)"),
    _f("NONLIVINGAPARTMENTS_MODE", "building: non-living apartments (mode, normalised)"),
    _f("NONLIVINGAREA_MODE", "building: non-living area (mode, normalised)"),
    _f("APARTMENTS_MEDI", "building: apartment size (median, normalised)"),
    _f("BASEMENTAREA_MEDI", "building: basement area (median, normalised)"),
    _f("YEARS_BEGINEXPLUATATION_MEDI", "building: years since the building entered use (median, normalised)"),
    _f("YEARS_BUILD_MEDI", "building: building age (median, normalised)"),
    _f("COMMONAREA_MEDI", "building: common area (median, normalised)"),
    _f("ELEVATORS_MEDI", "building: number of elevators (median, normalised)"),
    _f("ENTRANCES_MEDI", "building: number of entrances (median, normalised)"),
    _f("FLOORSMAX_MEDI", "building: highest floor (median, normalised)"),
    _f("FLOORSMIN_MEDI", "building: lowest floor (median, normalised)"),
    _f("LANDAREA_MEDI", "building: land area (median, normalised)"),
    _f("LIVINGAPARTMENTS_MEDI", "building: living apartments (median, normalised)"),
    _f("LIVINGAREA_MEDI", "building: living area (median, normalised)"),
    _f("NONLIVINGAPARTMENTS_MEDI", "building: non-living apartments (median, normalised)"),
    _f("NONLIVINGAREA_MEDI", "building: non-living area (median, normalised)"),
    _s(
        "FONDKAPREMONT_MODE",
        "building: repair-fund account type (mode)",
        ("reg oper account", "reg oper spec account", "org spec account", "not specified"),
    ),
    _s(
        "HOUSETYPE_MODE",
        "building: house type (mode)",
        ("block of flats", "specific housing", "terraced house"),
    ),
    _f("TOTALAREA_MODE", "building: total area (mode, normalised)"),
    _s(
        "WALLSMATERIAL_MODE",
        "building: wall material (mode)",
        ("Stone, brick", "Panel", "Block", "Wooden", "Mixed", "Monolithic", "Others"),
    ),
    _s("EMERGENCYSTATE_MODE", "building: emergency state (mode)", ("No", "Yes")),
    _f("OBS_30_CNT_SOCIAL_CIRCLE", "acquaintances observed with 30 days past due"),
    _f("DEF_30_CNT_SOCIAL_CIRCLE", "acquaintances who defaulted at 30 days past due"),
    _f("OBS_60_CNT_SOCIAL_CIRCLE", "acquaintances observed with 60 days past due"),
    _f("DEF_60_CNT_SOCIAL_CIRCLE", "acquaintances who defaulted at 60 days past due"),
    _f("DAYS_LAST_PHONE_CHANGE", "last phone change, days before the application"),
    _i("FLAG_DOCUMENT_2", "provided document 2 (1/0)"),
    _i("FLAG_DOCUMENT_3", "provided document 3 (1/0)"),
    _i("FLAG_DOCUMENT_4", "provided document 4 (1/0)"),
    _i("FLAG_DOCUMENT_5", "provided document 5 (1/0)"),
    _i("FLAG_DOCUMENT_6", "provided document 6 (1/0)"),
    _i("FLAG_DOCUMENT_7", "provided document 7 (1/0)"),
    _i("FLAG_DOCUMENT_8", "provided document 8 (1/0)"),
    _i("FLAG_DOCUMENT_9", "provided document 9 (1/0)"),
    _i("FLAG_DOCUMENT_10", "provided document 10 (1/0)"),
    _i("FLAG_DOCUMENT_11", "provided document 11 (1/0)"),
    _i("FLAG_DOCUMENT_12", "provided document 12 (1/0)"),
    _i("FLAG_DOCUMENT_13", "provided document 13 (1/0)"),
    _i("FLAG_DOCUMENT_14", "provided document 14 (1/0)"),
    _i("FLAG_DOCUMENT_15", "provided document 15 (1/0)"),
    _i("FLAG_DOCUMENT_16", "provided document 16 (1/0)"),
    _i("FLAG_DOCUMENT_17", "provided document 17 (1/0)"),
    _i("FLAG_DOCUMENT_18", "provided document 18 (1/0)"),
    _i("FLAG_DOCUMENT_19", "provided document 19 (1/0)"),
    _i("FLAG_DOCUMENT_20", "provided document 20 (1/0)"),
    _i("FLAG_DOCUMENT_21", "provided document 21 (1/0)"),
    _f("AMT_REQ_CREDIT_BUREAU_HOUR", "credit bureau enquiries in the hour before the application"),
    _f("AMT_REQ_CREDIT_BUREAU_DAY", "credit bureau enquiries in the day before (excluding the last hour)"),
    _f("AMT_REQ_CREDIT_BUREAU_WEEK", "credit bureau enquiries in the week before (excluding the last day)"),
    _f("AMT_REQ_CREDIT_BUREAU_MON", "credit bureau enquiries in the month before (excluding the last week)"),
    _f(
        "AMT_REQ_CREDIT_BUREAU_QRT",
        "credit bureau enquiries in the 3 months before (excluding the last month)",
    ),
    _f(
        "AMT_REQ_CREDIT_BUREAU_YEAR",
        "credit bureau enquiries in the year before (excluding the last 3 months)",
    ),
)

_BUREAU = (
    _i("SK_ID_CURR", "applicant id"),
    _i("SK_ID_BUREAU", "credit bureau credit id"),
    _s("CREDIT_ACTIVE", "status of the bureau credit", ("Closed", "Active", "Sold", "Bad debt")),
    _s("CREDIT_CURRENCY", "currency (recoded)", ("currency 1", "currency 2", "currency 3", "currency 4")),
    _i("DAYS_CREDIT", "bureau credit opened, days before the application"),
    _i("CREDIT_DAY_OVERDUE", "days overdue at the application"),
    _f("DAYS_CREDIT_ENDDATE", "planned end, days relative to the application"),
    _f("DAYS_ENDDATE_FACT", "actual end (closed credits), days before the application"),
    _f("AMT_CREDIT_MAX_OVERDUE", "largest overdue amount so far"),
    _i("CNT_CREDIT_PROLONG", "number of prolongations"),
    _f("AMT_CREDIT_SUM", "credit amount"),
    _f("AMT_CREDIT_SUM_DEBT", "outstanding debt"),
    _f("AMT_CREDIT_SUM_LIMIT", "credit limit (cards)"),
    _f("AMT_CREDIT_SUM_OVERDUE", "amount currently overdue"),
    _s(
        "CREDIT_TYPE",
        "kind of credit",
        (
            "Consumer credit",
            "Credit card",
            "Car loan",
            "Mortgage",
            "Microloan",
            "Loan for business development",
            "Another type of loan",
            "Unknown type of loan",
            "Loan for working capital replenishment",
            "Cash loan (non-earmarked)",
            "Real estate loan",
            "Loan for the purchase of equipment",
            "Loan for purchase of shares (margin lending)",
            "Interbank credit",
            "Mobile operator loan",
        ),
    ),
    _i("DAYS_CREDIT_UPDATE", "last bureau update, days before the application"),
    _f("AMT_ANNUITY", "periodic repayment"),
)

_BUREAU_BALANCE = (
    _i("SK_ID_BUREAU", "credit bureau credit id"),
    _i("MONTHS_BALANCE", "month relative to the application (-1 = latest)"),
    _s(
        "STATUS",
        "monthly status: C closed, X unknown, 0 no DPD, 1..5 DPD buckets of 30 days (5 = 120+, written off)",
        ("C", "X", "0", "1", "2", "3", "4", "5"),
    ),
)

_PREVIOUS_APPLICATION = (
    _i("SK_ID_PREV", "previous application id"),
    _i("SK_ID_CURR", "applicant id"),
    _s(
        "NAME_CONTRACT_TYPE",
        "product of the previous application",
        ("Cash loans", "Consumer loans", "Revolving loans"),
    ),
    _f("AMT_ANNUITY", "periodic repayment"),
    _f("AMT_APPLICATION", "amount asked for"),
    _f("AMT_CREDIT", "amount finally granted"),
    _f("AMT_DOWN_PAYMENT", "down payment"),
    _f("AMT_GOODS_PRICE", "price of the goods"),
    _s(
        "WEEKDAY_APPR_PROCESS_START",
        "weekday of the application",
        ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
    ),
    _i("HOUR_APPR_PROCESS_START", "hour of the application (rounded)"),
    _s("FLAG_LAST_APPL_PER_CONTRACT", "last application for this contract (Y/N)", ("N", "Y")),
    _i("NFLAG_LAST_APPL_IN_DAY", "last application of the day (1/0)"),
    _f("RATE_DOWN_PAYMENT", "down payment rate (normalised)"),
    _f("RATE_INTEREST_PRIMARY", "interest rate (normalised)"),
    _f("RATE_INTEREST_PRIVILEGED", "privileged interest rate (normalised)"),
    _s(
        "NAME_CASH_LOAN_PURPOSE",
        "purpose of a cash loan (XAP = not applicable)",
        (
            "XAP",
            "Repairs",
            "Other",
            "Urgent needs",
            "Buying a used car",
            "Building a house or an annex",
            "Everyday expenses",
            "Medicine",
            "Payments on other loans",
            "Education",
            "Journey",
            "Purchase of electronic equipment",
            "Buying a new car",
            "Wedding / gift / holiday",
            "Buying a home",
            "Car repairs",
            "Furniture",
            "Buying a holiday home / land",
            "Business development",
            "Gasification / water supply",
            "Buying a garage",
            "Hobby",
            "Money for a third person",
            "Refusal to name the goal",
        ),
    ),
    _s(
        "NAME_CONTRACT_STATUS",
        "outcome: approved, canceled, refused, unused offer",
        ("Approved", "Canceled", "Refused", "Unused offer"),
    ),
    _i("DAYS_DECISION", "decision, days before the current application"),
    _s(
        "NAME_PAYMENT_TYPE",
        "repayment method",
        ("Cash through the bank", "Non-cash from your account", "Cashless from the account of the employer"),
    ),
    _s(
        "CODE_REJECT_REASON",
        "reason of refusal (XAP = not applicable)",
        ("XAP", "HC", "LIMIT", "SCO", "CLIENT", "SCOFR", "VERIF", "SYSTEM"),
    ),
    _s(
        "NAME_TYPE_SUITE",
        "who came with the applicant",
        ("Unaccompanied", "Family", "Spouse, partner", "Children", "Other_A", "Other_B", "Group of people"),
    ),
    _s("NAME_CLIENT_TYPE", "new or returning client", ("Repeater", "New", "Refreshed")),
    _s(
        "NAME_GOODS_CATEGORY",
        "kind of goods financed",
        (
            "Mobile",
            "Consumer Electronics",
            "Computers",
            "Audio/Video",
            "Furniture",
            "Photo / Cinema Equipment",
            "Construction Materials",
            "Clothing and Accessories",
            "Auto Accessories",
            "Jewelry",
            "Homewares",
            "Medical Supplies",
            "Vehicles",
            "Sport and Leisure",
            "Gardening",
            "Other",
            "Office Appliances",
            "Tourism",
            "Medicine",
            "Direct Sales",
            "Fitness",
            "Additional Service",
            "Education",
            "Weapon",
            "Insurance",
            "House Construction",
            "Animals",
        ),
    ),
    _s("NAME_PORTFOLIO", "portfolio (POS, cash, cards, cars)", ("POS", "Cash", "Cards", "Cars")),
    _s("NAME_PRODUCT_TYPE", "cross-sell or walk-in", ("x-sell", "walk-in")),
    _s(
        "CHANNEL_TYPE",
        "acquisition channel",
        (
            "Credit and cash offices",
            "Country-wide",
            "Stone",
            "Regional / Local",
            "Contact center",
            "AP+ (Cash loan)",
            "Channel of corporate sales",
            "Car dealer",
        ),
    ),
    _i("SELLERPLACE_AREA", "seller area code"),
    _s(
        "NAME_SELLER_INDUSTRY",
        "seller industry",
        (
            "Consumer electronics",
            "Connectivity",
            "Furniture",
            "Construction",
            "Clothing",
            "Industry",
            "Auto technology",
            "Jewelry",
            "MLM partners",
            "Tourism",
        ),
    ),
    _f("CNT_PAYMENT", "term in number of instalments"),
    _s("NAME_YIELD_GROUP", "interest-rate band", ("high", "middle", "low_normal", "low_action")),
    _s(
        "PRODUCT_COMBINATION",
        "detailed product",
        (
            "Cash",
            "Cash Street: high",
            "Cash Street: middle",
            "Cash Street: low",
            "Cash X-Sell: high",
            "Cash X-Sell: middle",
            "Cash X-Sell: low",
            "Card Street",
            "Card X-Sell",
            "POS household with interest",
            "POS household without interest",
            "POS mobile with interest",
            "POS mobile without interest",
            "POS industry with interest",
            "POS industry without interest",
            "POS other with interest",
            "POS others without interest",
        ),
    ),
    _f("DAYS_FIRST_DRAWING", "first drawing, days relative to the current application (365243 = none)"),
    _f("DAYS_FIRST_DUE", "first due date, days relative (365243 = none)"),
    _f("DAYS_LAST_DUE_1ST_VERSION", "first planned last due date, days relative (365243 = none)"),
    _f("DAYS_LAST_DUE", "last due date, days relative (365243 = none)"),
    _f("DAYS_TERMINATION", "expected termination, days relative (365243 = none)"),
    _f("NFLAG_INSURED_ON_APPROVAL", "asked for insurance (1/0)"),
)

_POS_CASH_BALANCE = (
    _i("SK_ID_PREV", "previous credit id"),
    _i("SK_ID_CURR", "applicant id"),
    _i("MONTHS_BALANCE", "month relative to the application (-1 = latest)"),
    _f("CNT_INSTALMENT", "term (instalments)"),
    _f("CNT_INSTALMENT_FUTURE", "instalments left to pay"),
    _s(
        "NAME_CONTRACT_STATUS",
        "contract status in that month",
        (
            "Active",
            "Completed",
            "Signed",
            "Demand",
            "Returned to the store",
            "Approved",
            "Amortized debt",
            "Canceled",
        ),
    ),
    _i("SK_DPD", "days past due in that month"),
    _i("SK_DPD_DEF", "days past due ignoring small debts"),
)

_INSTALLMENTS_PAYMENTS = (
    _i("SK_ID_PREV", "previous credit id"),
    _i("SK_ID_CURR", "applicant id"),
    _f("NUM_INSTALMENT_VERSION", "instalment calendar version (0 = card)"),
    _i("NUM_INSTALMENT_NUMBER", "instalment number"),
    _f("DAYS_INSTALMENT", "due date, days before the application"),
    _f("DAYS_ENTRY_PAYMENT", "payment date, days before the application"),
    _f("AMT_INSTALMENT", "amount due"),
    _f("AMT_PAYMENT", "amount paid"),
)

_CREDIT_CARD_BALANCE = (
    _i("SK_ID_PREV", "previous credit id"),
    _i("SK_ID_CURR", "applicant id"),
    _i("MONTHS_BALANCE", "month relative to the application (-1 = latest)"),
    _f("AMT_BALANCE", "balance at month end"),
    _i("AMT_CREDIT_LIMIT_ACTUAL", "credit limit in that month"),
    _f("AMT_DRAWINGS_ATM_CURRENT", "cash withdrawn at ATMs"),
    _f("AMT_DRAWINGS_CURRENT", "total drawn"),
    _f("AMT_DRAWINGS_OTHER_CURRENT", "other drawings"),
    _f("AMT_DRAWINGS_POS_CURRENT", "spent at points of sale"),
    _f("AMT_INST_MIN_REGULARITY", "minimal instalment due"),
    _f("AMT_PAYMENT_CURRENT", "paid in the month"),
    _f("AMT_PAYMENT_TOTAL_CURRENT", "total paid in the month"),
    _f("AMT_RECEIVABLE_PRINCIPAL", "principal receivable"),
    _f("AMT_RECIVABLE", "amount receivable"),
    _f("AMT_TOTAL_RECEIVABLE", "total receivable"),
    _f("CNT_DRAWINGS_ATM_CURRENT", "number of ATM withdrawals"),
    _i("CNT_DRAWINGS_CURRENT", "number of drawings"),
    _f("CNT_DRAWINGS_OTHER_CURRENT", "number of other drawings"),
    _f("CNT_DRAWINGS_POS_CURRENT", "number of point-of-sale purchases"),
    _f("CNT_INSTALMENT_MATURE_CUM", "instalments paid so far"),
    _s(
        "NAME_CONTRACT_STATUS",
        "contract status in that month",
        ("Active", "Completed", "Signed", "Demand", "Sent proposal", "Refused", "Approved"),
    ),
    _i("SK_DPD", "days past due in that month"),
    _i("SK_DPD_DEF", "days past due ignoring small debts"),
)


TABLES: dict[str, TableSchema] = {
    "application_train": TableSchema("application_train", "application_train.csv", _APPLICATION_TRAIN),
    "application_test": TableSchema(
        "application_test", "application_test.csv", tuple(c for c in _APPLICATION_TRAIN if c.name != "TARGET")
    ),
    "bureau": TableSchema("bureau", "bureau.csv", _BUREAU),
    "bureau_balance": TableSchema("bureau_balance", "bureau_balance.csv", _BUREAU_BALANCE),
    "previous_application": TableSchema(
        "previous_application", "previous_application.csv", _PREVIOUS_APPLICATION
    ),
    "POS_CASH_balance": TableSchema("POS_CASH_balance", "POS_CASH_balance.csv", _POS_CASH_BALANCE),
    "installments_payments": TableSchema(
        "installments_payments", "installments_payments.csv", _INSTALLMENTS_PAYMENTS
    ),
    "credit_card_balance": TableSchema(
        "credit_card_balance", "credit_card_balance.csv", _CREDIT_CARD_BALANCE
    ),
}
"""The eight Kaggle tables by name, in the order Kaggle documents them."""

CHILD_TABLES: tuple[str, ...] = (
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)
"""The history tables, linked to an applicant through SK_ID_CURR (bureau_balance through SK_ID_BUREAU)."""

REQUIRED_TABLES: tuple[str, ...] = ("application_train", *CHILD_TABLES)
"""Tables a data directory must hold; application_test is optional."""

SENTINEL_DAYS_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in schema.columns if c.name.startswith("DAYS_") and c.kind != "str")
    for name, schema in TABLES.items()
}
"""DAYS_* columns per table; any value equal to SENTINEL_DAYS in them means "no date"."""


def schema_table(table: str) -> str:
    """The :data:`TABLES` key describing ``table`` as feature definitions and applicant documents name it.

    ``application`` (the applicant's own record) is ``application_test``: Kaggle's application columns
    without ``TARGET``; every other table keeps its Kaggle name.
    """
    return "application_test" if table == "application" else table
