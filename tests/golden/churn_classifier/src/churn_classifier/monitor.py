"""Watch what the model is asked to score: new rows compared with the rows it
learned from, its predictions on them with its predictions on the notebook's own
rows, and, given their true labels, the notebook's own metrics recomputed beside
the values the notebook measured.

The reference is a profile saved when the model is trained (:func:`profile`):
per column of the rows ``predict`` reads, a sample of its numbers or the counts
of its categories, and how often it was missing. :func:`compare` then says, per
column, whether the new rows drifted: a change counts when it is both unlikely to
be chance (the test's p-value below ``p_value``) and large enough to matter (the
distance past its threshold), so that neither a few rows' noise nor a million
rows' trifles raise an alarm. Numbers: the Kolmogorov-Smirnov test and the
population stability index (PSI) over the reference's deciles; categories:
the chi-square test and the Jensen-Shannon distance; missing values: Fisher's
exact test and the change of the missing rate.

The statistics are scipy's and the pictures matplotlib's, both imported only
here, when ``monitor`` runs (the ``monitor`` extra). A drift library (Evidently)
would do the same with a report of its own, but its API has changed
incompatibly from release to release and it brings a large dependency tree;
these tests are a few lines each over two of the most stable libraries there
are. nbprod copies this file unchanged into each project
(``src/PACKAGE/monitor.py``), so nbprod's own tests, ruff, black and mypy check
it as it is shipped.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import importlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

# The reference profile's file, beside the artifacts of the stage that makes it.
REFERENCE_FILE = "monitoring-reference.json"
# The numbers kept per column: enough for the tests to see a shift, few enough
# for the file to stay small. Drawn with a fixed seed: the same rows, the same file.
SAMPLE_SIZE = 5000
# Text with more distinct values than this is free text: only its missing
# values are compared (as the contract, which lists at most 30 categories).
MAX_CATEGORIES = 30
# PSI's bins: the reference's deciles.
BINS = 10
# PSI and the Jensen-Shannon distance take the log of shares: an empty bin
# counts as this share.
_FLOOR = 1e-4


class MonitorError(ValueError):
    """The rows or labels given cannot be compared: the message says why."""


@dataclasses.dataclass(frozen=True)
class Metric:
    """One of the notebook's metrics that ``monitor --labels`` recomputes:
    ``function`` of sklearn.metrics, called as the notebook called it
    (``where``) on ``truth`` and ``predicted``, with its ``keywords``."""

    function: str
    truth: str
    predicted: str
    keywords: Mapping[str, Any]
    where: str
    higher_is_better: bool

    def compute(self, truth: Any, predicted: Any) -> float:
        """The metric of ``predicted`` against ``truth``."""
        module = importlib.import_module("sklearn.metrics")
        return float(getattr(module, self.function)(truth, predicted, **self.keywords))


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """When a change counts as drift (config.yaml's ``monitoring`` section)."""

    p_value: float
    psi: float
    js_distance: float
    missing_rate: float
    metric_drop: float


@dataclasses.dataclass(frozen=True)
class Finding:
    """One column (or the predictions) compared: the test and distance fit for
    its kind, its missing rates, and whether it drifted, in words."""

    name: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    distance: str
    distance_value: float | None
    missing_reference: float
    missing_new: float
    missing_p_value: float | None
    reasons: tuple[str, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)


@dataclasses.dataclass(frozen=True)
class MetricResult:
    """A metric of the notebook's on the new labelled rows, beside its value in
    the notebook; ``error`` says why it could not be computed."""

    metric: Metric
    notebook: float | None
    new: float | None
    error: str = ""
    metric_drop: float = 0.0  # how much worse it may be, as a fraction

    @property
    def change(self) -> float | None:
        """How much worse than the notebook's value, as a fraction of it."""
        if self.notebook is None or self.new is None:
            return None
        worse = self.notebook - self.new
        if not self.metric.higher_is_better:
            worse = -worse
        return worse / (abs(self.notebook) or 1.0)

    @property
    def dropped(self) -> bool:
        """Worse than the notebook's value by more than ``metric_drop``."""
        change = self.change
        return change is not None and change > self.metric_drop


def kind_of(values: pd.Series) -> str:
    """``number``, ``category`` or ``text``: how a column is compared."""
    if pd.api.types.is_bool_dtype(values):
        return "category"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    return "category" if values.nunique() <= MAX_CATEGORIES else "text"


def predictions_kind(values: pd.Series) -> str:
    """Predictions that are labels (text, or few whole numbers) are categories;
    scores and amounts are numbers."""
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(
        present
    ):
        whole = bool((present == np.round(present)).all())
        if not whole or present.nunique() > MAX_CATEGORIES:
            return "number"
        return "category"
    return kind_of(present.astype(str))


def profile(values: pd.Series, kind: str) -> dict[str, Any]:
    """What the reference keeps of one column: its size, its missing values, and
    a sorted sample of its numbers or the counts of its categories."""
    present = values.dropna()
    kept: dict[str, Any] = {
        "kind": kind,
        "rows": int(len(values)),
        "missing": int(len(values) - len(present)),
    }
    if kind == "number":
        numbers = present.astype(float)
        if len(numbers) > SAMPLE_SIZE:
            numbers = numbers.sample(SAMPLE_SIZE, random_state=0)
        kept["sample"] = sorted(float(v) for v in numbers)
    elif kind == "category":
        counts = present.astype(str).value_counts()
        kept["counts"] = {str(k): int(counts[k]) for k in sorted(counts.index)}
    return kept


def reference(
    rows: pd.DataFrame,
    columns: Sequence[str],
    predictions: Sequence[Any],
    *,
    source: str,
    scored: str,
    metrics: Sequence[tuple[Metric, float | None, str]] = (),
) -> dict[str, Any]:
    """The reference profile: each of ``columns`` of ``rows`` (the rows the model
    learned from, read from ``source``), the ``predictions`` it made on the
    notebook's rows (``scored``), and each metric with the value the notebook
    measured (or why it could not be measured)."""
    served = pd.Series(list(predictions))
    return {
        "source": source,
        "rows": int(len(rows)),
        # A list: the contract's order survives the sorted keys of the file.
        "columns": [
            {"name": name, **profile(rows[name], kind_of(rows[name].dropna()))}
            for name in columns
        ],
        "predictions": {
            "source": scored,
            **profile(served, predictions_kind(served)),
        },
        "metrics": [
            {
                "function": m.function,
                "where": m.where,
                "value": value,
                "error": error,
            }
            for m, value, error in metrics
        ],
    }


def compare(
    name: str, kept: Mapping[str, Any], values: pd.Series, limits: Thresholds
) -> Finding:
    """Whether ``values`` (the new rows' column ``name``) drifted from the
    reference's profile of it, ``kept``."""
    kind = kept["kind"]
    present = values.dropna()
    rows = int(len(values))
    missing_new = (rows - len(present)) / rows if rows else 0.0
    missing_reference = kept["missing"] / kept["rows"] if kept["rows"] else 0.0
    missing_p = _missing_test(kept["rows"], kept["missing"], rows, rows - len(present))
    reasons = []
    if (
        missing_p is not None
        and missing_p < limits.p_value
        and abs(missing_new - missing_reference) > limits.missing_rate
    ):
        reasons.append(
            f"missing in {missing_new:.1%} of the rows, {missing_reference:.1%} before"
        )
    statistic = p_value = distance_value = None
    test = distance = ""
    if kind == "number" and kept["sample"]:
        test, distance = "Kolmogorov-Smirnov", "PSI"
        numbers = pd.to_numeric(present, errors="coerce").dropna().to_numpy(float)
        if len(numbers):
            statistic, p_value = _ks(np.asarray(kept["sample"], float), numbers)
            distance_value = psi(np.asarray(kept["sample"], float), numbers)
    elif kind == "category":
        test, distance = "chi-square", "Jensen-Shannon distance"
        counts = present.astype(str).value_counts()
        if len(counts):
            statistic, p_value, distance_value = _categories(kept["counts"], counts)
    elif kind == "text":
        test = "missing values only"
    if p_value is not None and distance_value is not None:
        limit = limits.psi if kind == "number" else limits.js_distance
        if p_value < limits.p_value and distance_value > limit:
            reasons.append(
                f"{distance} {distance_value:.3f} > {limit} ({test} p = {p_value:.3g})"
            )
    return Finding(
        name=name,
        kind=kind,
        test=test,
        statistic=statistic,
        p_value=p_value,
        distance=distance,
        distance_value=distance_value,
        missing_reference=missing_reference,
        missing_new=missing_new,
        missing_p_value=missing_p,
        reasons=tuple(reasons),
    )


def psi(reference_sample: np.ndarray, new: np.ndarray) -> float:
    """The population stability index of ``new`` against the reference, over
    the reference's deciles (a number that takes few values gets a bin per value)."""
    edges = np.unique(np.quantile(reference_sample, np.linspace(0, 1, BINS + 1)))
    # Values past the reference's ends fall in the first and last bins: a
    # shift past them is what PSI must see.
    inner = edges[1:-1] if len(edges) > 2 else edges[:1]
    expected = _shares(np.searchsorted(inner, reference_sample, side="right"), inner)
    actual = _shares(np.searchsorted(inner, new, side="right"), inner)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(bins: np.ndarray, inner: np.ndarray) -> np.ndarray:
    counts = np.bincount(bins, minlength=len(inner) + 1).astype(float)
    shares: np.ndarray = np.maximum(counts / counts.sum(), _FLOOR)
    return shares


def _ks(reference_sample: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    result = stats.ks_2samp(reference_sample, new)
    return float(result.statistic), float(result.pvalue)


def _categories(
    kept: Mapping[str, int], counts: pd.Series
) -> tuple[float | None, float | None, float]:
    """Chi-square statistic, its p-value and the Jensen-Shannon distance (base 2,
    from 0 to 1) of the new counts against the reference's; categories never seen
    before are categories of their own."""
    from scipy import stats
    from scipy.spatial import distance

    names = sorted(set(kept) | {str(k) for k in counts.index})
    before = np.array([kept.get(n, 0) for n in names], float)
    after = np.array([counts.get(n, 0) for n in names], float)
    gap = float(
        distance.jensenshannon(
            np.maximum(before / before.sum(), 0),
            np.maximum(after / after.sum(), 0),
            base=2,
        )
    )
    if len(names) < 2:
        return None, None, gap
    table = np.vstack([before, after])
    statistic, p_value, _, _ = stats.chi2_contingency(table)
    return float(statistic), float(p_value), gap


def _missing_test(
    rows_before: int, missing_before: int, rows_after: int, missing_after: int
) -> float | None:
    """Fisher's exact p-value that the missing rate is the same, or None when
    nothing was missing on either side."""
    if missing_before + missing_after == 0 or not rows_before or not rows_after:
        return None
    from scipy import stats

    table = [
        [missing_before, rows_before - missing_before],
        [missing_after, rows_after - missing_after],
    ]
    return float(stats.fisher_exact(table).pvalue)


def metric_results(
    kept: Sequence[Mapping[str, Any]],
    metrics: Sequence[Metric],
    labels: Sequence[Any],
    predictions: Sequence[Any],
    limits: Thresholds,
) -> list[MetricResult]:
    """Each metric recomputed on the new labelled rows, beside the notebook's."""
    measured = {(m["function"], m["where"]): m for m in kept}
    results = []
    for metric in metrics:
        notebook = measured.get((metric.function, metric.where), {}).get("value")
        try:
            new = metric.compute(list(labels), list(predictions))
        except Exception as exc:  # noqa: BLE001 - sklearn's errors say why
            results.append(
                MetricResult(metric, notebook, None, f"{exc.__class__.__name__}: {exc}")
            )
            continue
        results.append(
            MetricResult(metric, notebook, new, metric_drop=limits.metric_drop)
        )
    return results


@dataclasses.dataclass(frozen=True)
class Report:
    """What ``monitor`` found: per column, for the predictions, per metric."""

    rows: int
    source: str
    reference: Mapping[str, Any]
    findings: tuple[Finding, ...]
    predictions: Finding | None
    not_scored: str
    metrics: tuple[MetricResult, ...]
    limits: Thresholds

    @property
    def drifted(self) -> list[str]:
        """The columns that drifted, in the contract's order."""
        return [f.name for f in self.findings if f.drifted]

    @property
    def alarm(self) -> bool:
        """Whether a threshold was crossed: ``monitor`` exits 1."""
        predictions = self.predictions is not None and self.predictions.drifted
        return bool(self.drifted) or predictions or any(m.dropped for m in self.metrics)

    def summary(self) -> dict[str, Any]:
        """The report as summary.json holds it."""
        return {
            "drift": self.alarm,
            "rows": self.rows,
            "input": self.source,
            "reference": {
                "source": self.reference["source"],
                "rows": self.reference["rows"],
            },
            "drifted": self.drifted,
            "columns": [_finding(f) for f in self.findings],
            "predictions": (
                _finding(self.predictions) if self.predictions is not None else None
            ),
            "not_scored": self.not_scored,
            "metrics": [
                {
                    "function": m.metric.function,
                    "where": m.metric.where,
                    "notebook": m.notebook,
                    "new": m.new,
                    "worse_by": m.change,
                    "dropped": m.dropped,
                    **({"error": m.error} if m.error else {}),
                }
                for m in self.metrics
            ],
            "thresholds": dataclasses.asdict(self.limits),
        }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "name": f.name,
        "kind": f.kind,
        "drifted": f.drifted,
        "reasons": list(f.reasons),
        "test": f.test,
        "statistic": f.statistic,
        "p_value": f.p_value,
        "distance": f.distance,
        "distance_value": f.distance_value,
        "missing_reference": f.missing_reference,
        "missing_new": f.missing_new,
        "missing_p_value": f.missing_p_value,
    }


def write_report(
    report: Report,
    folder: Path,
    new_rows: pd.DataFrame,
    new_predictions: Sequence[Any],
    *,
    title: str,
) -> list[Path]:
    """Write report.html (a picture per drifted column, the tables),
    summary.json and summary.md (the table a CI job shows) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = folder / "summary.json"
    summary.write_text(
        json.dumps(report.summary(), indent=2, default=_json) + "\n", encoding="utf-8"
    )
    table = folder / "summary.md"
    table.write_text(markdown(report, title=title), encoding="utf-8")
    columns = {c["name"]: c for c in report.reference["columns"]}
    absent = pd.Series([], dtype=object)
    pictures = {
        f.name: _picture(columns[f.name], new_rows.get(f.name, absent), f)
        for f in report.findings
        if f.drifted
    }
    if report.predictions is not None and report.predictions.drifted:
        pictures["predictions"] = _picture(
            report.reference["predictions"],
            pd.Series(list(new_predictions)),
            report.predictions,
        )
    page = folder / "report.html"
    page.write_text(_html(report, pictures, title=title), encoding="utf-8")
    return [page, summary, table]


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def verdict(report: Report) -> str:
    """The report in one line, as ``monitor`` prints it."""
    said = []
    if report.drifted:
        said.append(f"drift in {', '.join(report.drifted)}")
    if report.predictions is not None and report.predictions.drifted:
        said.append("the predictions drifted")
    dropped = [m.metric.function for m in report.metrics if m.dropped]
    if dropped:
        said.append(f"worse than the notebook: {', '.join(dropped)}")
    if not said:
        return f"no drift in {report.rows} rows"
    return f"{'; '.join(said)} ({report.rows} rows)"


def _rows(report: Report) -> list[tuple[str, str, str, str, str, str]]:
    """The summary table's rows: what, test, statistic, distance, missing, verdict."""
    found = list(report.findings)
    if report.predictions is not None:
        found.append(report.predictions)
    rows = []
    for f in found:
        rows.append(
            (
                f.name,
                f"{f.kind}: {f.test}" if f.test else f.kind,
                "" if f.p_value is None else f"p = {f.p_value:.3g}",
                (
                    ""
                    if f.distance_value is None
                    else f"{f.distance} {f.distance_value:.3f}"
                ),
                f"{f.missing_reference:.1%} → {f.missing_new:.1%}",
                "; ".join(f.reasons) if f.drifted else "no drift",
            )
        )
    return rows


def markdown(report: Report, *, title: str) -> str:
    """The summary as a Markdown table (what a CI job writes to its summary)."""
    lines = [
        f"## Monitoring {title}: {verdict(report)}",
        "",
        f"{report.rows} new rows of {report.source}, against the "
        f"{report.reference['rows']} rows of {report.reference['source']}.",
        "",
        "| column | compared by | test | distance | missing | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in _rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    if report.not_scored:
        lines += ["", f"Not scored: {report.not_scored}."]
    if report.metrics:
        lines += [
            "",
            "| metric | notebook | new rows | verdict |",
            "| --- | --- | --- | --- |",
        ]
        for m in report.metrics:
            lines.append("| " + " | ".join(_metric_row(m)) + " |")
    return "\n".join(lines) + "\n"


def _metric_row(m: MetricResult) -> tuple[str, str, str, str]:
    what = f"{m.metric.function} ({m.metric.where})"
    notebook = "not measured" if m.notebook is None else f"{m.notebook:.4g}"
    if m.error or m.new is None:
        return (what, notebook, "not computed", m.error)
    change = m.change
    if change is None:
        said = "nothing to compare with"
    elif change > 0:
        said = f"worse by {change:.1%}"
        said += f", more than {m.metric_drop:.0%}" if m.dropped else ""
    else:
        said = "as good" if change == 0 else f"better by {-change:.1%}"
    return (what, notebook, f"{m.new:.4g}", said)


def _picture(kept: Mapping[str, Any], values: pd.Series, finding: Finding) -> str:
    """A PNG, base64: the reference beside the new rows, on the same axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    present = values.dropna()
    missing_only = all(r.startswith("missing") for r in finding.reasons)
    if missing_only:
        labels = ["missing", "present"]
        before_missing, after_missing = finding.missing_reference, finding.missing_new
        left.bar(labels, [before_missing, 1 - before_missing], color="#4c72b0")
        right.bar(labels, [after_missing, 1 - after_missing], color="#dd8452")
    elif finding.kind == "number" and kept.get("sample"):
        before = np.asarray(kept["sample"], float)
        after = pd.to_numeric(present, errors="coerce").dropna().to_numpy(float)
        both = np.concatenate([before, after]) if len(after) else before
        edges = np.histogram_bin_edges(both, bins=20)
        left.hist(before, bins=edges, color="#4c72b0", density=True)
        right.hist(after, bins=edges, color="#dd8452", density=True)
    elif finding.kind == "category":
        counts = present.astype(str).value_counts()
        names = sorted(set(kept["counts"]) | {str(k) for k in counts.index})
        total = sum(kept["counts"].values()) or 1
        left.bar(
            names, [kept["counts"].get(n, 0) / total for n in names], color="#4c72b0"
        )
        right.bar(
            names,
            [counts.get(n, 0) / (counts.sum() or 1) for n in names],
            color="#dd8452",
        )
        for axis in (left, right):
            axis.tick_params(axis="x", labelrotation=45)
    left.set_title(f"{finding.name}: reference")
    right.set_title(f"{finding.name}: new rows")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
tr.drift td { background: #fde2e1; }
figure { margin: 1.5em 0; }
"""


def _html(report: Report, pictures: Mapping[str, str], *, title: str) -> str:
    """The report page: self-contained (pictures inline, no script, nothing fetched)."""
    e = html.escape
    head = ("column", "compared by", "test", "distance", "missing", "verdict")
    rows = "\n".join(
        f'<tr class="{"drift" if row[-1] != "no drift" else "same"}">'
        + "".join(f"<td>{e(c)}</td>" for c in row)
        + "</tr>"
        for row in _rows(report)
    )
    metrics = ""
    if report.metrics:
        metric_rows = "\n".join(
            f'<tr class="{"drift" if m.dropped else "same"}">'
            + "".join(f"<td>{e(c)}</td>" for c in _metric_row(m))
            + "</tr>"
            for m in report.metrics
        )
        metrics = (
            "<h2>The notebook's metrics on the new labelled rows</h2>\n<table>"
            "<tr><th>metric</th><th>notebook</th><th>new rows</th><th>verdict</th></tr>\n"
            f"{metric_rows}</table>"
        )
    not_scored = (
        f"<p>Not scored: {e(report.not_scored)}.</p>" if report.not_scored else ""
    )
    figures = "\n".join(
        f'<figure id="drift-{e(name)}"><img alt="{e(name)}: reference beside the new rows" '
        f'src="data:image/png;base64,{data}"><figcaption>{e(name)}: the reference '
        "(left) beside the new rows (right)</figcaption></figure>"
        for name, data in pictures.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Monitoring {e(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Monitoring {e(title)}: {e(verdict(report))}</h1>
<p>{report.rows} new rows of {e(report.source)}, against the {report.reference["rows"]}
rows of {e(report.reference["source"])}. A change counts as drift when its test's
p-value is below {report.limits.p_value} and its distance is past its threshold
(PSI {report.limits.psi}, Jensen-Shannon {report.limits.js_distance}, missing rate
{report.limits.missing_rate}).</p>
<table>
<tr>{"".join(f"<th>{h}</th>" for h in head)}</tr>
{rows}
</table>
{not_scored}
{metrics}
<h2>What drifted</h2>
{figures or "<p>Nothing drifted.</p>"}
</body>
</html>
"""


class Scorer(Protocol):
    """What monitor needs of scoring.Predictor: the contract's problems with
    some rows, and the predictions of rows that keep it."""

    def problems(self, frame: pd.DataFrame) -> list[Any]: ...

    def score(
        self, frame: pd.DataFrame, *, lax: bool = False, what: str = "the rows"
    ) -> tuple[list[Any], list[Any]]: ...


def watched(schema: Any) -> list[str]:
    """The contract's columns whose values the serving path reads (a column only
    required to be there has no kind): the columns monitor compares."""
    return [str(name) for name, c in schema.columns.items() if c.dtype is not None]


def measured(
    metrics: Sequence[Metric], values: Mapping[str, Any]
) -> list[tuple[Metric, float | None, str]]:
    """Each metric as the notebook measured it, from the values the pipeline
    saved (proven equal to the notebook's), or why it could not be."""
    found: list[tuple[Metric, float | None, str]] = []
    for metric in metrics:
        try:
            found.append(
                (
                    metric,
                    metric.compute(values[metric.truth], values[metric.predicted]),
                    "",
                )
            )
        except Exception as exc:  # noqa: BLE001 - sklearn's errors say why
            found.append((metric, None, f"{exc.__class__.__name__}: {exc}"))
    return found


def save(kept: Mapping[str, Any], target: Path) -> Path:
    """Write the reference profile (sorted keys: the same rows, the same file;
    one line: it holds thousands of numbers)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    target.write_text(text + "\n", encoding="utf-8")
    return target


def read_labels(source: Path, rows: int) -> pd.Series:
    """The true labels of the new rows: a file (CSV or parquet) of one column,
    a row per new row, in their order."""
    frame = (
        pd.read_parquet(source) if source.suffix == ".parquet" else pd.read_csv(source)
    )
    if frame.shape[1] != 1 or len(frame) != rows:
        raise MonitorError(
            f"{source} must hold one column of {rows} labels, one per new row; "
            f"it holds {_count(frame.shape[1], 'column')} of {_count(len(frame), 'row')}"
        )
    return frame.iloc[:, 0]


def _count(number: int, what: str) -> str:
    return f"{number} {what}" + ("" if number == 1 else "s")


def check(
    kept: Mapping[str, Any],
    frame: pd.DataFrame,
    scorer: Scorer,
    limits: Thresholds,
    *,
    source: str,
    labels: pd.Series | None = None,
    metrics: Sequence[Metric] = (),
) -> tuple[Report, list[Any]]:
    """Compare the new rows ``frame`` (read from ``source``) with the reference
    ``kept``: every watched column, the predictions of the rows that keep the
    contract, and with ``labels``, the notebook's ``metrics``. Returns the report
    and the predictions."""
    absent = pd.Series([None] * len(frame), dtype=object)
    findings = tuple(
        compare(
            c["name"], c, frame[c["name"]] if c["name"] in frame else absent, limits
        )
        for c in kept["columns"]
    )
    predictions: list[Any] = []
    served: Finding | None = None
    results: list[MetricResult] = []
    problems = scorer.problems(frame)
    broken = sorted({p.row for p in problems if p.row is not None}, key=str)
    not_scored = ""
    if any(p.row is None for p in problems):
        not_scored = "the rows break the data contract as a whole: " + "; ".join(
            p.line() for p in problems if p.row is None
        )
    else:
        kept_rows = frame.drop(index=broken)
        if broken:
            not_scored = (
                f"{_count(len(broken), 'row')} broke the data contract "
                "and were not scored"
            )
        if len(kept_rows):
            predictions, _ = scorer.score(kept_rows, what=f"the rows of {source}")
            served = compare(
                "predictions", kept["predictions"], pd.Series(predictions), limits
            )
            if labels is not None:
                truth = labels.set_axis(frame.index).drop(index=broken)
                results = metric_results(
                    kept["metrics"], metrics, list(truth), predictions, limits
                )
        else:
            not_scored = "no row keeps the data contract"
    report = Report(
        rows=len(frame),
        source=source,
        reference=kept,
        findings=findings,
        predictions=served,
        not_scored=not_scored,
        metrics=tuple(results),
        limits=limits,
    )
    return report, predictions
