"""The request contract: every form of body; every class of bad input named by its field, never its value."""

from __future__ import annotations

import copy
import json
import random

import numpy as np
import pytest

from service.applicant.definitions import feature_names
from service.applicant.document import ROW_LIMITS
from service.applicant.evaluate import FeatureRow
from service.applicant.groups import MONITORED, NO_GROUPS, split_codes
from service.bundle import FeatureSpec
from service.errors import ServiceError
from service.request_schema import FORM_APPLICANT, FORM_FEATURES, RequestSchema
from tests.service.tiny_bundle import TINY_FEATURES, applicant_payloads

NAMES = [f.name for f in TINY_FEATURES]
SECRET = 987654.321
"""A distinctive value that must never come back in an error."""


def _schema(max_batch_size: int = 1000) -> RequestSchema:
    return RequestSchema(
        TINY_FEATURES, max_batch_size=max_batch_size, explain_max_k=5, feature_row=FeatureRow(NAMES)
    )


def _schema_of(names: list[str]) -> RequestSchema:
    """A schema whose model takes the features ``names`` (all floats)."""
    specs = [FeatureSpec(name, "float") for name in names]
    return RequestSchema(specs, max_batch_size=10, explain_max_k=0, feature_row=FeatureRow(names))


def _refusal(body: object, schema: RequestSchema | None = None) -> ServiceError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ServiceError) as caught:
        (schema or _schema()).parse(raw)
    error = caught.value
    assert "987654" not in json.dumps(error.body())
    return error


def _applicant() -> dict:
    """A small applicant document with a value in every feature of the tiny bundle."""
    return {
        "SK_ID_CURR": 100001,
        "AMT_CREDIT": 250000.0,
        "AMT_INCOME_TOTAL": 90000.0,
        "EXT_SOURCE_2": 0.61,
        "CNT_CHILDREN": 1,
        "DAYS_BIRTH": -12000,
        "DAYS_EMPLOYED": -800,
        "FLAG_OWN_CAR": "Y",
        "NAME_INCOME_TYPE": "Working",
        "bureau": [
            {
                "SK_ID_BUREAU": 5,
                "CREDIT_ACTIVE": "Active",
                "AMT_CREDIT_SUM": 1000.0,
                "AMT_CREDIT_SUM_OVERDUE": 250.0,
                "bureau_balance": [{"MONTHS_BALANCE": -1, "STATUS": "0"}],
            },
            {"SK_ID_BUREAU": 6, "CREDIT_ACTIVE": "Closed", "AMT_CREDIT_SUM_OVERDUE": 0.0},
        ],
        "installments_payments": [{"SK_ID_PREV": 1, "DAYS_INSTALMENT": -30.0, "DAYS_ENTRY_PAYMENT": -25.0}],
    }


# -------------------------------------------------------------------------------------- features form


@pytest.mark.parametrize(
    ("features", "code", "field"),
    [
        ({"NOT_A_FEATURE": SECRET}, "unknown_feature", "features.NOT_A_FEATURE"),
        ({"AMT_CREDIT": "987654.321"}, "wrong_type", "features.AMT_CREDIT"),
        ({"AMT_CREDIT": True}, "wrong_type", "features.AMT_CREDIT"),
        ({"AMT_CREDIT": [SECRET]}, "wrong_type", "features.AMT_CREDIT"),
        ({"AMT_CREDIT": -SECRET}, "impossible_value", "features.AMT_CREDIT"),
        ({"AMT_CREDIT": 10**400}, "impossible_value", "features.AMT_CREDIT"),
        ({"EXT_SOURCE_2": SECRET}, "impossible_value", "features.EXT_SOURCE_2"),
        ({"CNT_CHILDREN": 2.5}, "impossible_value", "features.CNT_CHILDREN"),
        ({"CNT_CHILDREN": True}, "wrong_type", "features.CNT_CHILDREN"),
        ({"DAYS_BIRTH": SECRET}, "impossible_value", "features.DAYS_BIRTH"),
        ({"FLAG_OWN_CAR": 2}, "impossible_value", "features.FLAG_OWN_CAR"),
        ({"FLAG_OWN_CAR": "yes"}, "wrong_type", "features.FLAG_OWN_CAR"),
    ],
)
def test_bad_feature_values_name_the_field(features: dict, code: str, field: str) -> None:
    error = _refusal({"id": "caller", "features": features})
    assert (error.status, error.code, error.field) == (422, code, field)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_a_batch_name_the_field(literal: str) -> None:
    applicants = applicant_payloads(10, seed=1)
    applicants[3]["features"]["EXT_SOURCE_2"] = "PLACEHOLDER"
    body = json.dumps({"applicants": applicants}).replace('"PLACEHOLDER"', literal).encode()
    error = _refusal(body)
    assert (error.code, error.field, error.reason) == (
        "impossible_value",
        "applicants[3].features.EXT_SOURCE_2",
        "must be finite",
    )


def test_bools_accept_true_false_and_0_1_and_missing_is_nan() -> None:
    parsed = _schema().parse(
        json.dumps(
            {"applicants": [{"features": {"FLAG_OWN_CAR": flag}} for flag in (True, False, 1, 0, None)]}
        ).encode()
    )
    assert parsed.matrix[:, NAMES.index("FLAG_OWN_CAR")][:4].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert np.isnan(parsed.matrix[4]).all()
    assert parsed.forms == [FORM_FEATURES] * 5


def test_columnar_form_gives_the_same_matrix_and_ids_as_the_applicant_list() -> None:
    applicants = applicant_payloads(25, seed=4)
    expected = _schema().parse(json.dumps({"applicants": applicants}).encode())
    columns = ["id", *reversed(NAMES)]
    rows = [[a["id"] if c == "id" else a["features"].get(c) for c in columns] for a in applicants]
    parsed = _schema().parse(json.dumps({"columns": columns, "rows": rows}).encode())
    assert not parsed.single
    assert parsed.caller_ids == expected.caller_ids
    np.testing.assert_array_equal(parsed.matrix, expected.matrix)


def test_columnar_form_without_id_or_some_features() -> None:
    parsed = _schema().parse(json.dumps({"columns": ["AMT_CREDIT"], "rows": [[1.0], [2.0]]}).encode())
    assert parsed.caller_ids == [None, None]
    assert parsed.matrix[:, 0].tolist() == [1.0, 2.0]
    assert np.isnan(parsed.matrix[:, 1:]).all()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0], [-1.0]]}, "impossible_value", "rows[1].AMT_CREDIT"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0], ["1"]]}, "wrong_type", "rows[1].AMT_CREDIT"),
        ({"columns": ["AMT_CREDIT", "id"], "rows": [[1.0, ["x"]]]}, "wrong_type", "rows[0].id"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0, 2.0]]}, "wrong_type", "rows[0]"),
        ({"columns": ["AMT_CREDIT", "EXT_SOURCE_2"], "rows": [[1.0]]}, "wrong_type", "rows[0]"),
        ({"columns": ["AMT_CREDIT"], "rows": [7]}, "wrong_type", "rows[0]"),
        ({"columns": ["NOPE"], "rows": [[1.0]]}, "unknown_feature", "columns.NOPE"),
        ({"columns": ["AMT_CREDIT", "AMT_CREDIT"], "rows": [[1.0, 1.0]]}, "malformed_request", "columns"),
        ({"columns": "AMT_CREDIT", "rows": [[1.0]]}, "wrong_type", "columns"),
        ({"columns": ["AMT_CREDIT"], "rows": {}}, "wrong_type", "rows"),
        ({"columns": ["AMT_CREDIT"], "rows": []}, "malformed_request", "rows"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0]], "more": 1}, "malformed_request", "more"),
        ({"columns": ["AMT_CREDIT"], "rows": [[1.0]], "applicant": {}}, "malformed_request", "applicant"),
    ],
)
def test_columnar_errors_name_the_field(body: dict, code: str, field: str) -> None:
    error = _refusal(body)
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize(
    "body",
    [
        {"columns": ["AMT_CREDIT"], "rows": [[1.0]] * 3},
        {"applicants": [{"features": {}}] * 3},
    ],
)
def test_batches_above_the_limit_are_413(body: dict) -> None:
    error = _refusal(body, _schema(max_batch_size=2))
    assert (error.status, error.code) == (413, "batch_too_large")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "malformed_request", None),
        (b"[1, 2]", 400, "malformed_request", None),
        (b'{"features": {}, "surprise": 1}', 400, "malformed_request", "surprise"),
        (b'{"features": [1, 2]}', 422, "wrong_type", "features"),
        (b'{"features": null}', 422, "wrong_type", "features"),
        (b'{"applicants": []}', 400, "malformed_request", "applicants"),
        (b'{"applicants": [{"features": {}, "extra": 1}]}', 400, "malformed_request", "applicants[0].extra"),
        (b'{"features": {}, "explain": 99}', 422, "impossible_value", "explain"),
        (b'{"features": {}, "explain": "3"}', 422, "wrong_type", "explain"),
        (b'{"features": {}, "explain": null}', 422, "wrong_type", "explain"),
        (b'{"features": {}, "return_features": 1}', 422, "wrong_type", "return_features"),
        (b'{"id": "\\ud800", "features": {}}', 400, "malformed_request", None),
        (b'{"features": {"\\udfff": 1}}', 400, "malformed_request", None),
        (b"{}", 422, "wrong_type", "applicant"),
        (b'{"features": {}, "applicant": {}}', 400, "malformed_request", "features"),
        (b'{"id": true, "features": {}}', 422, "wrong_type", "id"),
        ('{"id": "' + "x" * 129 + '", "features": {}}', 422, "impossible_value", "id"),
        ('{"features": {"' + "K" * 5000 + '": 1}}', 422, "unknown_feature", "features." + "K" * 64 + "..."),
    ],
)
def test_malformed_bodies(body: bytes | str, status: int, code: str, field: str | None) -> None:
    error = _refusal(body.encode() if isinstance(body, str) else body)
    assert (error.status, error.code, error.field) == (status, code, field)


def test_a_feature_that_may_not_be_missing_is_required() -> None:
    specs = [FeatureSpec("AMT_CREDIT", "float", missing_allowed=False), FeatureSpec("EXT_SOURCE_2", "float")]
    schema = RequestSchema(specs, max_batch_size=5, explain_max_k=0)
    for body in ({"features": {}}, {"columns": ["EXT_SOURCE_2"], "rows": [[1]]}):
        error = _refusal(body, schema)
        assert (error.code, error.reason) == ("impossible_value", "is required")
        assert error.field in ("features.AMT_CREDIT", "columns.AMT_CREDIT")
    error = _refusal({"features": {"AMT_CREDIT": None}}, schema)
    assert (error.code, error.field) == ("wrong_type", "features.AMT_CREDIT")


def test_utf16_bodies_are_refused() -> None:
    error = _refusal(json.dumps({"features": {}}).encode("utf-16"))
    assert (error.status, error.code) == (400, "malformed_request")


def _with_duplicate(body: dict, first: str, repeated: str) -> bytes:
    """``body`` as JSON text with ``repeated`` written right after the one occurrence of ``first``."""
    text = json.dumps(body)
    assert text.count(first) == 1
    return text.replace(first, f"{first}, {repeated}").encode()


DOCUMENT = {"applicant": _applicant()}


@pytest.mark.parametrize(
    ("body", "first", "repeated", "key"),
    [
        ({"id": "a", "features": {}}, '"id": "a"', '"id": "b"', "id"),
        ({"features": {"AMT_CREDIT": 1.0}}, '"AMT_CREDIT": 1.0', f'"AMT_CREDIT": {SECRET}', "AMT_CREDIT"),
        (DOCUMENT, '"AMT_CREDIT": 250000.0', '"AMT_CREDIT": 250000.0', "AMT_CREDIT"),
        (DOCUMENT, '"CREDIT_ACTIVE": "Closed"', '"CREDIT_ACTIVE": "Active"', "CREDIT_ACTIVE"),
        (DOCUMENT, '"STATUS": "0"', '"STATUS": "X"', "STATUS"),
        (DOCUMENT, '"DAYS_INSTALMENT": -30.0', '"DAYS_INSTALMENT": -1.0', "DAYS_INSTALMENT"),
        (DOCUMENT, '"NAME_INCOME_TYPE": "Working"', '"bureau": []', "bureau"),
        (DOCUMENT, '"AMT_CREDIT": 250000.0', r'"\u0041MT_CREDIT": 1.0', "AMT_CREDIT"),
        (
            {"applicants": [{"id": 1, "features": {}}, {"id": 2, "features": {}}]},
            '"id": 2',
            '"id": 3',
            "id",
        ),
    ],
    ids=[
        "top-level",
        "features",
        "application-same-value",
        "bureau-record",
        "bureau-balance-record",
        "instalment-record",
        "history-table",
        "escaped-spelling",
        "batch-item",
    ],
)
def test_a_key_repeated_in_one_object_is_refused(body: dict, first: str, repeated: str, key: str) -> None:
    error = _refusal(_with_duplicate(body, first, repeated))
    assert (error.status, error.code, error.field) == (400, "malformed_request", key)
    assert error.reason == "a key appears more than once in one object"


def _pairs(value: object) -> object:
    """``value`` with every object as a list of (key, value) pairs, which may then repeat a key."""
    if isinstance(value, dict):
        return [(key, _pairs(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_pairs(item) for item in value]
    return value


def _dump(value: object) -> str:
    """JSON text of a :func:`_pairs` tree (an object is a list of tuples)."""
    if isinstance(value, list) and value and all(isinstance(item, tuple) for item in value):
        return "{" + ", ".join(f"{json.dumps(key)}: {_dump(item)}" for key, item in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(item) for item in value) + "]"
    return json.dumps(value)


def _objects(value: object) -> list[list[tuple]]:
    """Every object (pair list) of a :func:`_pairs` tree."""
    if isinstance(value, list) and value and all(isinstance(item, tuple) for item in value):
        return [value, *(found for _, item in value for found in _objects(item))]
    if isinstance(value, list):
        return [found for item in value for found in _objects(item)]
    return []


def test_any_repeated_key_is_refused_whatever_the_values_around_it() -> None:
    """Random repeats, of any value, in random objects of documents holding colons in text (also "null"),
    explicit nulls and defaults."""
    rng = random.Random(7)
    schema = _schema()
    for trial in range(400):
        applicant = _applicant()
        applicant["NAME_INCOME_TYPE"] = rng.choice(["Working", "Cash X-Sell: low", "a: null", "null"])
        if trial % 2:
            applicant["EXT_SOURCE_1"] = None
        body = {"id": rng.choice(["A-1", "A:1"]), "applicant": applicant}
        if trial % 3 == 0:
            body["explain"] = 0
        tree = _pairs(body)
        target = rng.choice(_objects(tree))
        key, value = rng.choice(target)
        if _objects(value)[:1] == [value]:
            repeat = value
        elif isinstance(value, list):
            repeat = rng.choice([[], value])
        elif key == "explain":  # the one key here that may not be null
            repeat = rng.choice([0, 1])
        else:
            repeat = rng.choice([None, value, "x: null" if isinstance(value, str) else value])
        target.insert(rng.randrange(len(target) + 1), (key, repeat))
        error = _refusal(_dump(tree).encode(), schema)
        assert (error.code, error.field) == ("malformed_request", key), (trial, key, repeat)


def test_bodies_without_repeats_are_accepted_whatever_they_hold() -> None:
    """Explicit nulls and defaults, colons and escapes in text: scored as the plain body."""
    plain = _applicant()
    expected = _schema().parse(json.dumps({"applicant": plain}).encode()).matrix
    variants = [
        {"applicant": {**plain, "EXT_SOURCE_1": None}},
        {"applicant": {**plain, "previous_application": []}, "explain": 0, "return_features": False},
        {"id": None, "applicant": {**plain, "NAME_TYPE_SUITE": "Spouse: partner"}},
        {"id": "café", "applicant": plain},
    ]
    for body in variants:
        parsed = _schema().parse(json.dumps(body).encode())
        np.testing.assert_array_equal(parsed.matrix, expected)


def test_the_same_key_in_sibling_objects_is_accepted() -> None:
    applicant = _applicant()
    applicant["bureau"][1]["bureau_balance"] = [{"MONTHS_BALANCE": -1, "STATUS": "0"}]
    body = {"applicants": [{"id": 1, "applicant": applicant}, {"id": 2, "applicant": applicant}]}
    assert _schema().parse(json.dumps(body).encode()).caller_ids == ["1", "2"]


def test_a_key_repeated_in_the_columnar_rows_is_refused_by_the_rows() -> None:
    """The rows are checked after: they hold values, never objects."""
    raw = b'{"columns": ["AMT_CREDIT"], "rows": [[{"k": 1, "k": 2}]]}'
    error = _refusal(raw)
    assert (error.status, error.code, error.field) == (422, "wrong_type", "rows[0].AMT_CREDIT")


# ------------------------------------------------------------------------------------- applicant form


def test_applicant_document_is_turned_into_the_model_features() -> None:
    parsed = _schema().parse(json.dumps({"id": "A-1", "applicant": _applicant()}).encode())
    row = dict(zip(NAMES, parsed.matrix[0].tolist(), strict=True))
    assert row["AMT_CREDIT"] == 250000.0 and row["EXT_SOURCE_2"] == 0.61 and row["CNT_CHILDREN"] == 1.0
    assert row["DAYS_BIRTH"] == -12000.0 and row["FLAG_OWN_CAR"] == 1.0
    assert row["BURO_AMT_CREDIT_SUM_OVERDUE_SUM"] == 250.0
    assert (parsed.single, parsed.caller_ids, parsed.forms) == (True, ["A-1"], [FORM_APPLICANT])
    assert parsed.unknown_labels == []


def test_absent_null_sentinel_and_xna_are_missing() -> None:
    applicant = {"DAYS_EMPLOYED": 365243, "FLAG_OWN_CAR": "XNA", "EXT_SOURCE_2": None}
    schema = _schema_of(["DAYS_EMPLOYED", "FLAG_OWN_CAR", "EXT_SOURCE_2", "AMT_CREDIT", "BURO_COUNT"])
    parsed = schema.parse(json.dumps({"applicant": applicant}).encode())
    assert np.isnan(parsed.matrix[0, :4]).all()
    assert parsed.matrix[0, 4] == 0.0  # a count with nothing to count is 0, as in training


def test_an_unknown_label_is_scored_as_no_label_and_reported() -> None:
    known, novel = _applicant(), _applicant()
    novel["NAME_INCOME_TYPE"] = "Astronaut"
    novel["bureau"][0]["CREDIT_ACTIVE"] = "Frozen"
    novel["bureau"][0]["bureau_balance"][0]["STATUS"] = "9"
    columns = ["NAME_INCOME_TYPE_WORKING", "BURO_CREDIT_ACTIVE_ACTIVE_COUNT", "BB_STATUS_0_SHARE_MEAN"]
    schema = _schema_of(columns)
    before = schema.parse(json.dumps({"applicant": known}).encode())
    after = schema.parse(json.dumps({"applicant": novel}).encode())
    assert before.matrix[0].tolist() == [1.0, 1.0, 1.0]
    assert after.matrix[0].tolist() == [0.0, 0.0, 0.0]  # the unknown month still counts as a month
    assert sorted(after.unknown_labels) == [
        ("application", "NAME_INCOME_TYPE"),
        ("bureau", "CREDIT_ACTIVE"),
        ("bureau_balance", "STATUS"),
    ]


def _with(path: list, value: object) -> dict:
    document = copy.deepcopy(_applicant())
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "status", "code", "field"),
    [
        (["bureau", 1, "AMT_CREDIT_SUM"], -SECRET, 422, "impossible_value",
         "applicant.bureau[1].AMT_CREDIT_SUM"),
        (["bureau", 0, "DAYS_CREDIT"], 12, 422, "impossible_value", "applicant.bureau[0].DAYS_CREDIT"),
        (["DAYS_BIRTH"], 5, 422, "impossible_value", "applicant.DAYS_BIRTH"),
        (["DAYS_EMPLOYED"], 30, 422, "impossible_value", "applicant.DAYS_EMPLOYED"),
        (["DAYS_BIRTH"], -120.5, 422, "impossible_value", "applicant.DAYS_BIRTH"),
        (["AMT_CREDIT"], "987654.321", 422, "wrong_type", "applicant.AMT_CREDIT"),
        (["FLAG_OWN_CAR"], 1, 422, "wrong_type", "applicant.FLAG_OWN_CAR"),
        (["EXT_SOURCE_2"], 1.5, 422, "impossible_value", "applicant.EXT_SOURCE_2"),
        (["TARGET"], 1, 422, "unknown_field", "applicant.TARGET"),
        (["bureau", 0, "SECRET_COLUMN"], SECRET, 422, "unknown_field", "applicant.bureau[0].SECRET_COLUMN"),
        (
            ["bureau", 0, "bureau_balance", 0, "MONTHS_BALANCE"],
            3,
            422,
            "impossible_value",
            "applicant.bureau[0].bureau_balance[0].MONTHS_BALANCE",
        ),
        (["installments_payments"], {"AMT_PAYMENT": 1}, 422, "wrong_type", "applicant.installments_payments"),
        (["previous_application"], [{}] * (ROW_LIMITS["previous_application"] + 1), 413, "too_many_records",
         "applicant.previous_application"),
        (["bureau", 0, "bureau_balance"], [{}] * (ROW_LIMITS["bureau_balance"] + 1), 413, "too_many_records",
         "applicant.bureau[0].bureau_balance"),
    ],
)  # fmt: skip
def test_bad_applicant_documents_name_the_field_path(
    path: list, value: object, status: int, code: str, field: str
) -> None:
    error = _refusal({"id": "caller", "applicant": _with(path, value)})
    assert (error.status, error.code, error.field) == (status, code, field)
    assert error.reason


def test_linking_ids_are_kept_but_the_nesting_links_the_records() -> None:
    """The JSON Schema cannot compare a record's id with its applicant's, so the service does not either."""
    linked = _schema().parse(json.dumps({"applicant": _applicant()}).encode())
    mislabelled = _with(["bureau", 0, "SK_ID_CURR"], 7)
    mislabelled["bureau"][0]["bureau_balance"][0]["SK_ID_BUREAU"] = 99
    parsed = _schema().parse(json.dumps({"applicant": mislabelled}).encode())
    np.testing.assert_array_equal(parsed.matrix, linked.matrix)


def test_a_batch_mixes_both_forms_and_names_the_applicant_of_an_error() -> None:
    features = applicant_payloads(1)[0]
    parsed = _schema().parse(json.dumps({"applicants": [{"applicant": _applicant()}, features]}).encode())
    assert parsed.forms == [FORM_APPLICANT, FORM_FEATURES]
    bad = [features, {"applicant": _with(["AMT_INCOME_TOTAL"], -1.0)}]
    error = _refusal({"applicants": bad})
    assert error.field == "applicants[1].applicant.AMT_INCOME_TOTAL"


def test_each_applicant_document_gets_its_monitoring_groups_and_feature_vectors_none() -> None:
    """The groups are for the payload log only: they are kept beside the matrix, never in it."""
    widow = {**_applicant(), "CODE_GENDER": "F", "NAME_FAMILY_STATUS": "Widow", "DAYS_BIRTH": -23000}
    features = applicant_payloads(1)[0]
    parsed = _schema().parse(json.dumps({"applicants": [{"applicant": widow}, features]}).encode())
    codes = np.column_stack(split_codes(np.array(parsed.groups)))
    (gender, family, children, _, age), vector = codes.tolist()
    labels = {a.name: a.labels for a in MONITORED}
    assert (labels["CODE_GENDER"][gender], labels["NAME_FAMILY_STATUS"][family]) == ("F", "Widow")
    assert (labels["CNT_CHILDREN"][children], labels["AGE_BAND"][age]) == ("1", "62_and_over")
    assert parsed.groups[1] == NO_GROUPS and vector == [-1] * len(MONITORED)
    columnar = _schema().parse(json.dumps({"columns": ["AMT_CREDIT"], "rows": [[1.0], [2.0]]}).encode())
    assert columnar.groups == [NO_GROUPS, NO_GROUPS]


def test_a_model_without_applicant_support_refuses_the_form_with_its_reason() -> None:
    schema = RequestSchema(
        TINY_FEATURES, max_batch_size=10, explain_max_k=0, applicant_unavailable="retrain it"
    )
    error = _refusal(DOCUMENT, schema)
    assert (error.status, error.code, error.reason) == (422, "applicant_form_unavailable", "retrain it")
    assert schema.parse(json.dumps(applicant_payloads(1)[0]).encode()).forms == [FORM_FEATURES]


def test_return_features_is_read() -> None:
    parsed = _schema().parse(json.dumps({"applicant": _applicant(), "return_features": True}).encode())
    assert parsed.return_features


def test_every_defined_feature_can_be_a_model_input() -> None:
    """A model may select any feature: the schema and the evaluator accept the whole catalogue."""
    names = feature_names()
    schema = _schema_of(names)
    parsed = schema.parse(json.dumps({"applicant": _applicant()}).encode())
    assert parsed.matrix.shape == (1, len(names))
    assert parsed.matrix[0, names.index("BURO_COUNT")] == 2.0
