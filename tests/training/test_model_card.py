"""The model card's sections that can be checked without a training run (the pipeline test reads the rest)."""

from __future__ import annotations

from training.age_effect import AgeBand, AgeEffect
from training.model_card import age_section


def _effect(rule: str, features: list[str], elderly_raising: int) -> AgeEffect:
    bands = [
        AgeBand("under 25", 40, 0.31, 40),
        AgeBand("55-61", 0, None, 0),
        AgeBand("62-64", 30, 0.12, elderly_raising),
        AgeBand("65 and over", 10, -0.05, 0),
    ]
    return AgeEffect(
        rule=rule,
        features=features,
        left_out={"APP_EMPLOYED_AGE_RATIO": "correlated 0.96 with DAYS_EMPLOYED (kept, more predictive)"},
        bands=bands if features else [],
        elderly=40,
        elderly_raising=elderly_raising,
        unknown_age=3,
    )


def test_the_age_section_shows_where_the_elderly_get_a_risk_increasing_age_contribution() -> None:
    section = age_section(_effect("free", ["DAYS_BIRTH"], 12))
    assert section.startswith("## Age\n\nAge rule in force: **free**. ")
    assert "retrain with `--age-rule monotone`" in section
    assert "Model features that read `DAYS_BIRTH`: `DAYS_BIRTH`." in section
    assert (
        "| `APP_EMPLOYED_AGE_RATIO` | correlated 0.96 with DAYS_EMPLOYED (kept, more predictive) |" in section
    )
    assert "| 62-64 | 30 | 0.1200 | 12 (40.0%) |" in section
    assert "| 55-61 | 0 | - | 0 (-) |" in section
    assert (
        "Of the 40 applicants aged 62 or over, **12 (30.0%)** get a risk-increasing age contribution."
        in section
    )
    assert "3 holdout applicants have no `DAYS_BIRTH`" in section


def test_the_age_section_under_the_excluded_rule_has_no_contributions_to_show() -> None:
    section = age_section(_effect("excluded", [], 0))
    assert "Age rule in force: **excluded**. `DAYS_BIRTH` is a protected attribute" in section
    assert "No model feature reads `DAYS_BIRTH`." in section
    assert "Every applicant's age contribution is therefore 0." in section
    assert "| age |" not in section
