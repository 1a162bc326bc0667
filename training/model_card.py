"""The model card: what the model is, how good it is, how it decides, and its limits, in markdown."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from service.bundle import Bundle
from training.age_effect import AgeEffect
from training.age_rule import AGE_COLUMN, ELDERLY_AGE
from training.data_report import DataReport
from training.fairness import HoldoutFairness, fairness_section
from training.selection import PROTECTED_REASON

if TYPE_CHECKING:
    from training.modeling import ModelingOutcome

AUC_RATIO_TARGET = 0.97
"""LightGBM holdout AUC must reach this share of the true probability's AUC (synthetic data)."""

COST_RATIO_TARGET = 1.05
"""Holdout cost at the tuned threshold must stay within this factor of the true probability's best cost."""

PLOT_DIR = "model"
"""Folder (under the bundle's assets) that holds the modelling plots."""


def build_model_card(
    bundle: Bundle,
    outcome: ModelingOutcome,
    data_report: DataReport,
    data_source: str,
    age: AgeEffect | None = None,
    fairness: HoldoutFairness | None = None,
) -> tuple[str, dict[str, bytes]]:
    """Render the model card and collect every plot it links to (paths relative to ``assets/``).

    ``age`` (:func:`training.age_effect.measure_age_effect` on the holdout) gives the card its "Age" section,
    ``fairness`` (:func:`training.fairness.holdout_fairness`) its "Fairness on the holdout" section.
    """
    metrics = bundle.metrics
    assets = {f"{PLOT_DIR}/{name}": png for name, png in outcome.plots.items()}
    assets.update(data_report.plots)
    sections = [
        _header(bundle, data_source),
        _comparison(outcome),
        _performance(bundle, metrics),
        _truth_ratios(metrics),
        _features(bundle, outcome),
        _protected(bundle, outcome),
        age_section(age) if age is not None else "",
        fairness_section(fairness) if fairness is not None else "",
        _reason_codes(bundle),
        _plots(sorted(outcome.plots)),
        data_report.markdown,
        _limits(),
        _versions(bundle),
    ]
    return "\n".join(s for s in sections if s), assets


def _header(bundle: Bundle, data_source: str) -> str:
    return f"""# Model card: credit_scorer

Predicts the probability that a consumer-credit applicant will have payment difficulties (Home Credit
Default Risk, TARGET = 1) and turns it into a decision: **refuse** when the probability is at least
**{bundle.threshold:.4f}**, otherwise **accept**. The threshold minimises the business cost below.

- Trained: {bundle.created_at} from {data_source}
- Training data fingerprint: `{bundle.training_fingerprint[:16]}`
- Features: {len(bundle.features)} (list below), LightGBM gradient-boosted trees
- Cost weights per applicant: accepted defaulter {bundle.cost.false_negative:g}, refused good client
  {bundle.cost.false_positive:g}, correct refusal {bundle.cost.true_positive:g}, correct acceptance
  {bundle.cost.true_negative:g}
"""


def _comparison(outcome: ModelingOutcome) -> str:
    table = outcome.comparison.drop(columns=["params"], errors="ignore")
    lines = [
        "## Model comparison",
        "",
        "Cross-validated on the training split, then scored once on the untouched holdout "
        "(parameters of every candidate are in `runs.csv`).",
        "",
        "| " + " | ".join(map(str, table.columns)) + " |",
    ]
    lines.append("|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _performance(bundle: Bundle, m: dict[str, Any]) -> str:
    cm = m.get("confusion_matrix", {})
    return f"""## Chosen model on the untouched holdout

| metric | value |
|---|---:|
| cross-validated ROC AUC (training split) | {_fmt(m.get("cv_auc_mean"))} ± {_fmt(m.get("cv_auc_std"))} |
| holdout ROC AUC | {_fmt(m.get("holdout_auc"))} |
| holdout ROC AUC of the accepted applicants (realized AUC baseline) | {_fmt(m.get("holdout_auc_accepted"))} |
| Brier score | {_fmt(m.get("brier"))} |
| cost per 1,000 applicants at the threshold {bundle.threshold:.4f} | {_fmt(m.get("cost_at_threshold"))} |
| cost per 1,000 at threshold 0.5 | {_fmt(m.get("cost_at_0_5"))} |
| cost per 1,000 at threshold 0.07 (the original project's) | {_fmt(m.get("cost_at_0_07"))} |

Confusion matrix at the threshold (positive = default, refused = predicted positive):

| | refused | accepted |
|---|---:|---:|
| defaulted | {cm.get("tp", "?")} (correct refusals) | {cm.get("fn", "?")} (accepted defaulters) |
| repaid | {cm.get("fp", "?")} (refused good clients) | {cm.get("tn", "?")} (correct acceptances) |
"""


def _truth_ratios(m: dict[str, Any]) -> str:
    auc_ratio = m.get("auc_ratio_vs_true")
    cost_ratio = m.get("cost_ratio_vs_true")
    if auc_ratio is None or cost_ratio is None:
        return ""
    auc_ok = "meets" if auc_ratio >= AUC_RATIO_TARGET else "MISSES"
    cost_ok = "meets" if cost_ratio <= COST_RATIO_TARGET else "MISSES"
    return f"""## Against the true default probability (synthetic data only)

The generator knows each applicant's true probability of default; it never reaches the features.

| ratio on the holdout | value | target |
|---|---:|---|
| LightGBM ROC AUC / true-probability ROC AUC | {auc_ratio:.4f} | >= {AUC_RATIO_TARGET} ({auc_ok}) |
| cost at the tuned threshold / lowest cost reachable with the true probability | {cost_ratio:.4f} \
| <= {COST_RATIO_TARGET} ({cost_ok}) |
| true-probability ROC AUC | {_fmt(m.get("true_probability_auc"))} | |
"""


def _features(bundle: Bundle, outcome: ModelingOutcome) -> str:
    lines = [
        "## Features (booster order)",
        "",
        "| feature | type | training range | missing | description |",
        "|---|---|---|---:|---|",
    ]
    for f in bundle.features:
        observed = f"{_fmt(f.observed_min)} .. {_fmt(f.observed_max)}" if f.observed_min is not None else "-"
        lines.append(f"| `{f.name}` | {f.dtype} | {observed} | {f.missing_share:.0%} | {f.description} |")
    reasons = Counter(reason.split(" ")[0] for reason in outcome.selection.dropped.values())
    summary = ", ".join(f"{count} by {reason}" for reason, count in reasons.most_common())
    lines += ["", f"Selection dropped {len(outcome.selection.dropped)} columns ({summary or 'none'})."]
    return "\n".join(lines) + "\n"


def _protected(bundle: Bundle, outcome: ModelingOutcome) -> str:
    excluded = sorted(
        (name, reason)
        for name, reason in outcome.selection.dropped.items()
        if reason.startswith(PROTECTED_REASON)
    )
    lines = [
        "## Protected attributes",
        "",
        f"No feature reads {', '.join(f'`{c}`' for c in bundle.protected_attributes)}: credit decisions may "
        "not rest on them (sex always; family status and children where the lender's law or policy says so"
        f"{'; age under the age rule `excluded`' if AGE_COLUMN in bundle.protected_attributes else ''}). "
        "A feature that reads one, alone or combined with other columns, was never offered to the model, so "
        "changing only these columns of an applicant cannot change the probability; the service refuses a "
        "bundle whose features read one.",
        "",
    ]
    if excluded:
        lines += ["| feature excluded | why |", "|---|---|"]
        lines += [f"| `{name}` | {reason} |" for name, reason in excluded]
    else:
        lines.append("No candidate feature read them.")
    return "\n".join(lines) + "\n"


def _reason_codes(bundle: Bundle) -> str:
    if bundle.reasons is None:
        return ""
    lines = [
        "## Reason codes",
        "",
        "A refused applicant is told up to four of these reasons "
        f"(catalogue version {bundle.reasons.version}): the characteristics whose features pushed the "
        "probability up the most, their SHAP contributions added up. When all of a characteristic's values "
        "were missing, the reason given is that they were.",
        "",
        "| code | reason | when its values are missing | features |",
        "|---|---|---|---|",
    ]
    for reason in bundle.reasons.reasons:
        features = ", ".join(f"`{name}`" for name in reason.features)
        lines.append(f"| {reason.code} | {reason.statement} | {reason.missing_statement} | {features} |")
    return "\n".join(lines) + "\n"


_AGE_RULE_TEXT = {
    "free": (
        f"Features that read `{AGE_COLUMN}` competed like any other and the model treats age as the "
        "data suggested: nothing keeps an older applicant's age from raising their risk. The table shows "
        f"whether it does. Regulation B (US) forbids giving an applicant aged {ELDERLY_AGE} or over a "
        "negative factor for their age; if the lender must or wants to rule that out, retrain with "
        "`--age-rule monotone` (risk never rises with age) or `--age-rule excluded` (age is not read)."
    ),
    "monotone": (
        "LightGBM was constrained so that the probability of default never rises as the applicant gets "
        f"older, all else equal: each feature of `{AGE_COLUMN}` alone carries a monotone constraint, and a "
        "feature reading age together with other columns was left out, since its effect could not be kept "
        "from rising with age."
    ),
    "excluded": (
        f"`{AGE_COLUMN}` is a protected attribute: no feature reads it, alone or combined, so changing only "
        "an applicant's age never changes the probability, and the service refuses this bundle if a feature "
        "reading it were added."
    ),
}
"""What each age rule means for the model, as the card says it."""


def age_section(age: AgeEffect) -> str:
    """The card's "Age" section: the rule in force, the features reading age, and how age acts by band."""
    lines = ["## Age", "", f"Age rule in force: **{age.rule}**. {_AGE_RULE_TEXT[age.rule]}", ""]
    if age.features:
        constraint = {
            name: f" (monotone constraint {sign:+d}: risk never {'falls' if sign > 0 else 'rises'} as "
            f"`{name}` rises, so never rises with age)"
            for name, sign in age.constraints.items()
        }
        named = [f"`{name}`{constraint.get(name, '')}" for name in age.features]
        lines.append(f"Model features that read `{AGE_COLUMN}`: {', '.join(named)}.")
    else:
        lines.append(f"No model feature reads `{AGE_COLUMN}`.")
    if age.left_out:
        lines += ["", f"| feature reading `{AGE_COLUMN}` left out | why |", "|---|---|"]
        lines += [f"| `{name}` | {reason} |" for name, reason in sorted(age.left_out.items())]
    lines.append("")
    if not age.features:
        lines.append("Every applicant's age contribution is therefore 0.")
        return "\n".join(lines) + "\n"
    lines += [_age_table(age), ""]
    if age.elderly:
        lines.append(
            f"Of the {age.elderly:,} applicants aged {ELDERLY_AGE} or over, **{age.elderly_raising:,} "
            f"({age.elderly_share_raising:.1%})** get a risk-increasing age contribution."
        )
    else:
        lines.append(f"No holdout applicant is aged {ELDERLY_AGE} or over: the card cannot judge for them.")
    if age.unknown_age:
        lines.append(f"{age.unknown_age:,} holdout applicants have no `{AGE_COLUMN}` and are in no band.")
    return "\n".join(lines) + "\n"


def _age_table(age: AgeEffect) -> str:
    known = sum(band.applicants for band in age.bands)
    lines = [
        f"How age acts on the {known:,} holdout applicants of known age. An applicant's *age contribution* "
        "is the sum of the SHAP contributions (log-odds of default) of the features that read "
        f"`{AGE_COLUMN}`; a positive one raises the risk (a negative factor, in Regulation B's words).",
        "",
        "| age | applicants | mean age contribution | age raises the risk of |",
        "|---|---:|---:|---:|",
    ]
    for band in age.bands:
        share = f"{band.raising / band.applicants:.1%}" if band.applicants else "-"
        mean = _fmt(band.mean_contribution)
        lines.append(f"| {band.label} | {band.applicants:,} | {mean} | {band.raising:,} ({share}) |")
    return "\n".join(lines)


def _plots(names: list[str]) -> str:
    if not names:
        return ""
    lines = ["## Interpretation and cost", ""]
    lines += [f"![{n.removesuffix('.png')}](assets/{PLOT_DIR}/{n})" for n in names]
    return "\n".join(lines) + "\n"


def _limits() -> str:
    return """## Intended use and limits

- Decision support for consumer-credit applications of people with little or no credit history. A
  refusal should be reviewable by a person; the service gives every refusal its principal reasons (reason
  codes above) and, on request, the strongest feature contributions behind any score.
- The threshold encodes a business trade-off (an accepted defaulter costs far more than a refused good
  client); change the weights and retrain rather than editing the threshold by hand.
- Applicant data is personal data: process it only for this purpose, keep only what the model needs,
  limit retention of payload logs, and secure them (the French regulator's principles the original
  project cites).
- Drift in the applicant population degrades the model silently: the monitoring sidecar compares live
  traffic with the reference sample stored in this bundle.
"""


def _versions(bundle: Bundle) -> str:
    items = ", ".join(f"{k} {v}" for k, v in sorted(bundle.library_versions.items()))
    return f"## Reproducibility\n\nLibraries: {items}.\n"


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
