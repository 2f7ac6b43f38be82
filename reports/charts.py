"""Plotly figures of the report pages, as plain figure dicts (``{"data", "layout", "config"}``).

Figures are built as dicts rather than `plotly.graph_objects` because validating a few
thousand points through graph_objects costs most of a page's render time budget; a test checks
that every figure is accepted by `plotly.graph_objects.Figure`. The page embeds each figure with
`script_json` in a ``<script type="application/json">`` block that ``report.js`` hands to
Plotly.js, so no data is ever written into JavaScript source.

Series are SVG ``scatter`` traces (no WebGL: it may be missing in a headless or old browser),
thinned to at most `MAX_POINTS` per series; NaN becomes a gap.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.summaries import SEVERITY_RANK, format_value, humanize

MAX_POINTS = 4000
SEVERITY_COLORS: dict[str, str] = {
    "ok": "#2e7d32",
    "info": "#1565c0",
    "caution": "#ef6c00",
    "risk": "#c62828",
    "not_assessable": "#757575",
}
_LINE = "#37474f"
_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def _layout(height: int, margin: dict[str, int], xaxis: dict) -> dict:
    """The layout every stacked-rows chart starts from."""
    return {
        "height": height,
        "margin": margin,
        "showlegend": False,
        "hovermode": "closest",
        "font": _FONT,
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "xaxis": xaxis,
    }


CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "scrollZoom": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}
# Comparisons whose flagged side is above the threshold; all others flag below.
_ABOVE = {">", ">=", "gt", "ge", "above", "max", "at_most"}
_BELOW = {"<", "<=", "lt", "le", "below", "min", "at_least"}


def script_json(obj: object) -> str:
    """JSON for a ``<script type="application/json">`` block, safe against breaking out of it.

    ``<``, ``>``, ``&`` and the JS line separators only occur inside JSON strings, where their
    ``\\uXXXX`` escapes mean the same; so ``</script>`` or ``<!--`` in a name cannot end the block.
    NaN and infinities become null (JSON has none).
    """
    text = json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _finite(obj: object) -> object:
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return [_finite(v) for v in obj.tolist()]
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def plain(text: object) -> str:
    """Text for a plotly label: plotly reads labels as a subset of HTML, so escape the data."""
    return html.escape(str(text), quote=False)


def _values(a: Iterable[float], digits: int = 2) -> list[float | None]:
    arr = np.round(
        np.asarray(list(a) if not isinstance(a, np.ndarray | pd.Series) else a, dtype=np.float64),
        digits,
    )
    return [None if not math.isfinite(v) else float(v) for v in arr.tolist()]


def _thin(n: int) -> slice:
    return slice(None, None, max(1, math.ceil(n / MAX_POINTS)))


def flagged_above(comparison: str | None) -> bool | None:
    """True when values above the threshold are flagged, False below, None when unknown."""
    c = (comparison or "").strip().lower()
    if c in _ABOVE:
        return True
    if c in _BELOW:
        return False
    return None


@dataclass(frozen=True)
class Band:
    """A threshold band: values beyond ``threshold`` on the flagged side get ``severity``."""

    threshold: float
    above: bool
    severity: str


def threshold_bands(findings: pd.DataFrame) -> list[Band]:
    """Distinct threshold bands of one metric's findings, mildest first.

    Each (threshold, comparison) gets the worst flagged severity seen with it; thresholds seen
    only on passing findings are shown as ``caution`` (the edge the rule watches).
    """
    bands: dict[tuple[float, bool], str] = {}
    for row in findings.itertuples(index=False):
        above = flagged_above(row.comparison)
        if above is None or row.threshold is None or not math.isfinite(row.threshold):
            continue
        key = (float(row.threshold), above)
        sev = row.severity if row.severity in ("info", "caution", "risk") else "caution"
        if row.severity in ("info", "caution", "risk"):
            old = bands.get(key)
            bands[key] = sev if old is None or SEVERITY_RANK[sev] > SEVERITY_RANK[old] else old
        else:
            bands.setdefault(key, sev)
    out = [Band(t, a, s) for (t, a), s in bands.items()]
    return sorted(out, key=lambda b: (SEVERITY_RANK[b.severity], b.threshold))


def _domains(n: int, gap: float = 0.06) -> list[tuple[float, float]]:
    """Vertical domains of n stacked rows, top row first."""
    h = (1.0 - gap * (n - 1)) / n
    return [
        (max(0.0, round(1.0 - (i + 1) * h - i * gap, 4)), min(1.0, round(1.0 - i * h - i * gap, 4)))
        for i in range(n)
    ]


def track_chart(
    series: pd.DataFrame,
    findings: pd.DataFrame,
    reps: pd.DataFrame,
    signal: str | None = None,
    title: str = "",
    bands: dict[str, list[Band]] | None = None,
) -> dict:
    """The chart of one track: the rep signal and each checked metric over time.

    Args:
        series: ``t_s`` and one column per metric (`reports.series.metric_series`); metrics
            absent from it are drawn from the findings' values alone.
        findings: the track's findings; each checked metric gets a row with its threshold bands
            and a marker per finding at its worst moment, coloured by severity.
        reps: the track's reps; each is a shaded span across all rows, numbered at the top.
        signal: the rep-driving metric, drawn as the first row when in ``series``.
        bands: each metric's threshold bands (from the rule file); a metric not in it gets the
            bands read off its findings (`threshold_bands`).

    Time in seconds on a shared x axis.
    """
    # A metric only ever "not assessable" (wrong camera view) has no meaningful course to show.
    judged = findings[findings["severity"] != "not_assessable"] if len(findings) else findings
    metrics = list(dict.fromkeys(m for m in judged["metric"].dropna() if m)) if len(judged) else []
    rows: list[str] = []
    if signal and signal in series.columns:
        rows.append(signal)
    rows += [m for m in metrics if m not in rows]
    if not rows:
        rows = [c for c in series.columns if c not in ("frame", "t_s")][:1]
    n = max(1, len(rows))
    doms = _domains(n)
    data: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    layout = _layout(
        120 + 190 * n,
        {"l": 56, "r": 16, "t": 40, "b": 44},
        {
            "title": {"text": "time (s)"},
            "anchor": f"y{n if n > 1 else ''}",
            "domain": [0, 1],
            "gridcolor": "#eceff1",
            "zeroline": False,
        },
    )
    if title:
        layout["title"] = {"text": plain(title), "x": 0, "font": {"size": 14}}
    t = series["t_s"].to_numpy(np.float64) if "t_s" in series.columns else np.array([])
    step = _thin(len(t))
    for i, metric in enumerate(rows or ["(no metric)"]):
        ax = "" if i == 0 else str(i + 1)
        yname = f"yaxis{ax}"
        mf = judged[judged["metric"] == metric] if len(judged) else judged
        unit = next((u for u in mf["unit"].dropna() if u), "") if len(mf) else ""
        label = plain(humanize(metric)) + (" (signal)" if metric == signal else "")
        layout[yname] = {
            "domain": list(doms[i]),
            "anchor": "x",
            "title": {"text": plain(unit or "")},
            "gridcolor": "#eceff1",
            "zeroline": False,
        }
        annotations.append(
            {
                "text": label,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": doms[i][1],
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12, "color": _LINE},
            }
        )
        ys: list[float] = []
        if metric in series.columns:
            y = series[metric].to_numpy(np.float64)
            ys += [v for v in y[np.isfinite(y)][:: max(1, len(y) // 200)]]
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": _values(t[step], 3),
                    "y": _values(y[step]),
                    "yaxis": f"y{ax}",
                    "name": plain(humanize(metric)),
                    "line": {"color": _LINE, "width": 1.5},
                    "connectgaps": False,
                    "hovertemplate": "%{y:.1f} at %{x:.2f} s<extra>"
                    + plain(humanize(metric))
                    + "</extra>",
                }
            )
        marked = mf[mf["worst_s"].notna() & mf["value"].notna()] if len(mf) else mf
        if len(marked):
            ys += [float(v) for v in marked["value"]]
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": _values(marked["worst_s"], 3),
                    "y": _values(marked["value"]),
                    "yaxis": f"y{ax}",
                    "name": "findings",
                    "marker": {
                        "size": 9,
                        "color": [SEVERITY_COLORS.get(s, _LINE) for s in marked["severity"]],
                        "line": {"color": "#ffffff", "width": 1},
                    },
                    "text": [
                        plain(f"{humanize(c)}: {sev} ({format_value(v, u)})")
                        + (f"<br>{plain(m)}" if isinstance(m, str) and m else "")
                        for c, sev, v, u, m in zip(
                            marked["check_id"],
                            marked["severity"],
                            marked["value"],
                            marked["unit"],
                            marked["message"] if "message" in marked else [""] * len(marked),
                            strict=True,
                        )
                    ],
                    "hovertemplate": "%{text}<extra></extra>",
                }
            )
        if bands is not None and metric in bands:
            row_bands = sorted(
                bands[metric], key=lambda b: (SEVERITY_RANK[b.severity], b.threshold)
            )
        else:
            row_bands = threshold_bands(mf) if len(mf) else []
        ys += [b.threshold for b in row_bands]
        lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
        pad = max((hi - lo) * 0.15, 1.0)
        lo, hi = lo - pad, hi + pad
        layout[yname]["range"] = [round(lo, 2), round(hi, 2)]
        for band in row_bands:
            y0, y1 = (band.threshold, hi) if band.above else (lo, band.threshold)
            color = SEVERITY_COLORS[band.severity]
            shapes.append(
                {
                    "type": "rect",
                    "xref": "paper",
                    "yref": f"y{ax}",
                    "x0": 0,
                    "x1": 1,
                    "y0": y0,
                    "y1": y1,
                    "fillcolor": color,
                    "opacity": 0.10,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
            shapes.append(_threshold_line(ax, band.threshold, color))
    for rep in reps.sort_values("start_s").itertuples(index=False) if len(reps) else ():
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": round(float(rep.start_s), 3),
                "x1": round(float(rep.end_s), 3),
                "y0": 0,
                "y1": 1,
                "fillcolor": SEVERITY_COLORS.get(rep.worst_severity, "#90a4ae")
                if rep.worst_severity in ("caution", "risk")
                else "#90a4ae",
                "opacity": 0.08 if int(rep.rep_index) % 2 == 0 else 0.14,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "text": str(int(rep.rep_index) + 1),
                "xref": "x",
                "yref": "paper",
                "x": round(float(rep.turn_s if pd.notna(rep.turn_s) else rep.start_s), 3),
                "y": 1.0,
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": "#546e7a"},
            }
        )
    layout["shapes"] = shapes
    layout["annotations"] = annotations
    return {"data": data, "layout": layout, "config": CONFIG}


def trend_chart(
    sessions: pd.DataFrame,
    metrics: Sequence[str],
    thresholds: dict[str, list[Band]],
    labels: dict[str, str] | None = None,
) -> dict:
    """An athlete's per-session trend: one row per metric.

    Args:
        sessions: one row per (session, metric) with columns ``session`` (ISO date or time),
            ``metric``, ``median``, ``low``, ``high`` (the per-rep values' median and range),
            ``worst`` (worst severity in the session) and ``label`` (hover text).
        metrics: the metrics to draw, top to bottom.
        thresholds: each metric's bands, drawn as dashed lines.
        labels: each metric's row title (default: the metric's name).
    """
    n = max(1, len(metrics))
    doms = _domains(n, gap=0.08)
    data: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    layout = _layout(
        100 + 200 * n,
        {"l": 56, "r": 16, "t": 30, "b": 50},
        {
            "type": "date",
            "anchor": f"y{n if n > 1 else ''}",
            "gridcolor": "#eceff1",
            **_day_axis(sessions["session"] if len(sessions) else pd.Series(dtype=str)),
        },
    )
    for i, metric in enumerate(metrics):
        ax = "" if i == 0 else str(i + 1)
        rows = sessions[sessions["metric"] == metric].sort_values("session")
        layout[f"yaxis{ax}"] = {"domain": list(doms[i]), "anchor": "x", "gridcolor": "#eceff1"}
        annotations.append(
            {
                "text": plain((labels or {}).get(metric) or humanize(metric)),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": doms[i][1],
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12, "color": _LINE},
            }
        )
        med = np.asarray(rows["median"], dtype=np.float64)
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [str(s) for s in rows["session"]],
                "y": _values(med),
                "yaxis": f"y{ax}",
                "name": plain(humanize(metric)),
                "line": {"color": _LINE, "width": 1.5},
                "marker": {
                    "size": 10,
                    "color": [SEVERITY_COLORS.get(s, _LINE) for s in rows["worst"]],
                },
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": _values(np.asarray(rows["high"], dtype=np.float64) - med),
                    "arrayminus": _values(med - np.asarray(rows["low"], dtype=np.float64)),
                    "color": "#90a4ae",
                    "thickness": 1,
                },
                "text": [plain(t) for t in rows["label"]],
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
        for band in thresholds.get(metric, []):
            shapes.append(_threshold_line(ax, band.threshold, SEVERITY_COLORS[band.severity]))
    layout["shapes"] = shapes
    layout["annotations"] = annotations
    return {"data": data, "layout": layout, "config": CONFIG}


def _day_axis(sessions: pd.Series) -> dict:
    """Day ticks and a range of a day either side when the sessions span less than a day.

    Left to itself plotly zooms a single session (or one evening's) down to milliseconds around
    it (``23:59:59.999 ... 00:00:00.0005``); a trend is read in days.
    """
    times = pd.to_datetime(sessions, errors="coerce", utc=True).dropna()
    if not len(times) or times.max() - times.min() >= pd.Timedelta(days=1):
        return {}
    day = pd.Timedelta(days=1)
    fmt = "%Y-%m-%d %H:%M:%S"
    return {
        "range": [(times.min() - day).strftime(fmt), (times.max() + day).strftime(fmt)],
        "dtick": 86_400_000,  # one day, in plotly's milliseconds
        "tickformat": "%e %b %Y",
    }


def _threshold_line(ax: str, threshold: float, color: str) -> dict:
    """A dashed line across the whole width of subplot ``ax`` at a rule's threshold."""
    return {
        "type": "line",
        "xref": "paper",
        "yref": f"y{ax}",
        "x0": 0,
        "x1": 1,
        "y0": threshold,
        "y1": threshold,
        "line": {"color": color, "width": 1, "dash": "dash"},
    }
