"""Coaching evaluation: rep counts, camera views and findings against truth (issue 14, item 6).

``make eval`` runs ``.venv/bin/python bench/eval_coaching.py``. Two parts:

* **Real clips** (../shared/data/keypoints, MoveNet keypoints of public exercise clips): each is
  imported with `flows.importing.import_keypoints` into a temporary store, as a coach's file
  would be, and its rep count and video view are printed beside the counts by eye and the views
  of the data README. The messy clips are judged on what can be measured (jumping jacks all 13,
  the close-up's 4 from the wrists; step-ups 2 of about 4).
* **Generated clips** (`analysis.testing.scenarios.grid`: views, subject heights 150-600 px,
  jitter 1-5 px, 24/30/60 fps, partial first/last reps, camera cuts with a zoom jump), scored
  with `rules.scoring.score_keypoints` without a declared view: rep counts against the
  generator's exact truth, the estimated view against the generated one, and per check the
  precision and recall of flags (caution or risk) against the faults planted on known reps.
* **Hard view cases** (`analysis.testing.view_clips.hard_view_cases`: the set-ups issue 14 found
  wrong on real clips, a side and a head-on push-up, front squats with the hands at the chest
  or the arms in front, a side good morning, with a camera not square on, hidden far sides and
  bodies cut by the frame), at 400 px with 2 px of jitter and 150 px with 5 px: view accuracy
  (the video's and every rep's view) and the view segments' confidence.

* **Yoga flows** (`analysis.testing.yoga.flow_grid`: a standing flow as issue 14 describes it
  and two with faults planted on known poses, at subject heights 250-600 px, jitter 1-3 px,
  30/60 fps), scored under exercise ``yoga``: poses found in order and named right, hold times
  against the generated ones, and the precision and recall of the poses' alignment flags.

The arithmetic is `analysis.testing.evaluation` (tested on small known inputs); this file only
runs the clips and prints. Usage: bench/eval_coaching.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.testing import evaluation as ev  # noqa: E402
from analysis.testing.exercises import ALTERNATING, generate_exercise  # noqa: E402
from analysis.testing.real_clips import REAL_CLIPS  # noqa: E402
from analysis.testing.scenarios import Scenario, build, grid  # noqa: E402
from analysis.testing.view_clips import hard_view_cases  # noqa: E402
from analysis.testing.yoga import FlowScenario, build_flow, flow_grid  # noqa: E402
from flows.importing import import_keypoints  # noqa: E402
from posecoach.store import Store  # noqa: E402
from rules.loader import load_library  # noqa: E402
from rules.scoring import score_keypoints  # noqa: E402

SHARED = Path(os.environ.get("POSECOACH_SHARED", REPO.parent / "shared"))


def counted_rows(reps: pd.DataFrame, kind: str = "rep") -> pd.DataFrame:
    """The rows of ``kind`` that count: a partial row (a rep cut by the clip, ``reps.partial``;
    absent or null in older stores) is kept but not counted."""
    if not len(reps):
        return reps
    partial = reps["partial"].eq(True) if "partial" in reps.columns else False
    return reps[(reps["kind"] == kind) & ~partial]


def n_partial(reps: pd.DataFrame) -> int:
    return int(reps["partial"].eq(True).sum()) if "partial" in reps.columns else 0


KEYPOINTS = SHARED / "data" / "keypoints"


REAL = REAL_CLIPS


def run_real() -> list[dict[str, Any]]:
    """Import and score every real clip; one result row each."""
    out = []
    with tempfile.TemporaryDirectory(prefix="posecoach-eval-") as tmp:
        store = Store(Path(tmp) / "store")
        for clip in REAL:
            path = KEYPOINTS / f"{clip.name}.csv"
            row = import_keypoints(
                path, store, athlete="eval", exercise=clip.exercise, date="2025-01-01"
            )
            reps = store.read("reps", [row.video_id])
            counted = len(counted_rows(reps, clip.kind))
            rep_views = sorted(set(reps["view"])) if "view" in reps.columns and len(reps) else []
            mixed = len(clip.views) > 1
            out.append(
                {
                    "clip": clip.name,
                    "exercise": clip.exercise,
                    "kind": clip.kind,
                    "counted": counted,
                    "partial": n_partial(reps),
                    "by_eye": clip.by_eye,
                    "measurable": clip.measurable,
                    "count": ev.count_outcome(counted, clip.measurable, tolerance=1),
                    "view": row.view or "",
                    "rep_views": rep_views,
                    "true_views": list(clip.views),
                    # A clip whose camera moves has no one right video view: it is judged
                    # only once reps carry their own segment's view.
                    "view_ok": None if mixed else (row.view == clip.views[0]),
                    "hold_s": (
                        round(float(reps["duration_s"].max()), 1)
                        if clip.kind == "hold" and len(reps)
                        else None
                    ),
                }
            )
    return out


def fault_tally(sc: Scenario, rule: Any, findings: pd.DataFrame, matched: dict[int, int],
                by_rep: dict[int, int]) -> ev.FaultTally:  # fmt: skip
    """The planted faults of a clip against the findings on the reps that matched them."""
    total = ev.FaultTally()
    if sc.fault is None or rule is None:
        return total
    check = next(c for c in rule.checks if c.id == sc.fault.check)
    # The flag threshold: the band that starts flagging (caution, or risk where it is alone).
    threshold = check.thresholds.get("caution", check.thresholds.get("risk", math.nan))
    true_of = {by_rep[int(r)]: r for r in by_rep}  # detected position -> rep_index
    found = {matched[d]: true_of[d] for d in matched}  # true rep index -> detected rep_index
    mine = findings[findings["check_id"] == sc.fault.check].set_index("rep_index")
    for k, _ in sorted(sc.expected):
        row = mine.loc[found[k]] if k in found and found[k] in mine.index else None
        total += ev.tally_fault(
            sc.fault.value, threshold, check.comparison,
            None if row is None else str(row["severity"]),
            math.nan if row is None else float(row["uncertainty"]),
        )  # fmt: skip
    return total


def run_generated(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """Score every generated clip without a declared view; one result row each."""
    library = load_library()
    out = []
    for sc in scenarios:
        clip = build(sc)
        result = score_keypoints(clip.points, sc.exercise, library=library)
        partial = n_partial(result.reps)
        reps = counted_rows(result.reps)
        truth = clip.truth.reps
        spans = list(zip(truth["start_s"], truth["turn_s"], truth["end_s"], strict=True))
        matched = ev.match_reps(spans, [float(t) for t in reps["turn_s"]])
        by_rep = dict(zip(reps["rep_index"].astype(int), range(len(reps)), strict=True))
        flagged = [
            (matched.get(by_rep.get(int(f.rep_index), -1)), str(f.check_id))
            for f in result.findings.itertuples()
            if ev.is_flag(str(f.severity))
        ]
        rule = library.find(sc.exercise)
        checks = [c.id for c in rule.checks] if rule else []
        counts = ev.flag_counts(sc.expected, flagged, checks=checks)
        faults = fault_tally(sc, rule, result.findings, matched, by_rep)
        views = set(result.views.values())
        if "view" in reps.columns:  # per-rep views (each rep's own segment), where stored
            views |= set(reps["view"].dropna())
        out.append(
            {
                "scenario": sc.name,
                "setup": f"{sc.exercise} {sc.view}",
                "exercise": sc.exercise,
                "view": sc.view,
                "body_px": sc.body_px,
                "jitter_px": sc.jitter_px,
                "fps": sc.fps,
                "partial": sc.partial,
                "cut": sc.cut,
                "true_reps": len(truth),
                "counted": len(reps),
                "partial_rows": partial,
                "count_exact": len(reps) == len(truth),
                "views": sorted(views),
                "view_ok": views == {sc.view},
                "flags": {c: vars(n) for c, n in counts.items()},
                "faults": vars(faults),
            }
        )
    return out


#: (body height px, jitter px) the hard view cases are made at.
HARD_VIEW_SIZES = ((400, 2.0), (150, 5.0))


def run_hard_views(quick: bool = False) -> list[dict[str, Any]]:
    """Score every hard view case without a declared view; one result row each."""
    library = load_library()
    out = []
    for case in hard_view_cases():
        for body_px, noise_px in HARD_VIEW_SIZES[:1] if quick else HARD_VIEW_SIZES:
            clip = case.build(body_px=body_px, noise_px=noise_px, seed=11)
            result = score_keypoints(clip.points, case.exercise, library=library)
            views = set(result.views.values())
            if "view" in result.reps.columns:
                views |= set(result.reps["view"].dropna())
            segments = [s for segs in result.view_segments.values() for s in segs]
            out.append(
                {
                    "case": case.name,
                    "view": case.view,
                    "body_px": body_px,
                    "jitter_px": noise_px,
                    "views": sorted(views),
                    "view_ok": views == {case.view},
                    "segments": len(segments),
                    "confidence": min((s.confidence for s in segments), default=0.0),
                }
            )
    return out


def hard_view_table(rows: list[dict[str, Any]]) -> str:
    out = [[r["case"], f"{r['body_px']} px, {r['jitter_px']:g} px", r["view"],
            "+".join(r["views"]), "yes" if r["view_ok"] else "no", str(r["segments"]),
            f"{r['confidence']:.2f}"] for r in rows]  # fmt: skip
    header = ["hard view case", "body, jitter", "true view", "read", "ok", "segments",
              "confidence"]  # fmt: skip
    return _table(header, out)


# -- printing ---------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in rows]  # fmt: skip
    return "\n".join([line, rule, *body])


def real_table(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        counted = f"{r['counted']}" + (f" ({r['hold_s']} s)" if r["hold_s"] is not None else "")
        counted += f" (+{r['partial']} partial)" if r["partial"] else ""
        truth = f"{r['measurable']}" + (
            f" of {r['by_eye']}" if r["by_eye"] != r["measurable"] else ""
        )
        ok = {None: "n/a (moves)", True: "yes", False: "no"}[r["view_ok"]]
        out.append([r["clip"], r["exercise"], counted, truth, r["count"], r["view"],
                    "+".join(r["true_views"]), ok])  # fmt: skip
    header = ["clip", "exercise", "counted", "truth", "count", "view", "true view", "view ok"]
    return _table(header, out)


def _group(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return groups


def _counts(rows: list[dict[str, Any]]) -> dict[str, ev.FlagCounts]:
    return ev.pool({c: ev.FlagCounts(**n) for c, n in r["flags"].items()} for r in rows)


def _faults(rows: list[dict[str, Any]]) -> ev.FaultTally:
    return sum((ev.FaultTally(**r["faults"]) for r in rows), ev.FaultTally())


def generated_tables(rows: list[dict[str, Any]]) -> str:
    parts = []
    # The camera grid's tables leave out the clips with edits (partial reps, cuts): those have
    # their own table, and would skew the one body size and jitter they are made at.
    plain = [r for r in rows if not (r["partial"] or r["cut"])]
    for key in ("setup", "view", "body_px", "jitter_px", "fps"):
        out = []
        for value, group in sorted(_group(plain, key).items()):
            total, faults = ev.overall(_counts(group)), _faults(group)
            out.append([f"{value:g}" if isinstance(value, float) else str(value),
                        str(len(group)),
                        ev.fmt_ratio(ev.rate(r["count_exact"] for r in group)),
                        ev.fmt_ratio(ev.rate(r["view_ok"] for r in group)),
                        ev.fmt_ratio(total.precision), ev.fmt_ratio(faults.recall_clear),
                        f"{faults.clear}/{faults.faults}", ev.fmt_ratio(total.recall),
                        str(total.fp), str(faults.not_assessable), str(faults.missed)])  # fmt: skip
        header = [key, "clips", "count exact", "view ok", "precision", "recall (clear)",
                  "clear", "recall (all)", "FP", "n/a", "missed"]  # fmt: skip
        parts.append(_table(header, out))
    edits = [r for r in rows if r["partial"] or r["cut"]]
    if edits:
        out = []
        for r in edits:
            out.append([r["scenario"], f"{r['counted']}/{r['true_reps']}",
                        str(r["partial_rows"]), "+".join(r["views"])])  # fmt: skip
        header = ["partial reps and cuts", "counted/true", "partial rows", "view"]
        parts.append(_table(header, out))
    per_check = _counts(rows)
    out = []
    for c, n in per_check.items():
        out.append([c, str(n.tp), str(n.fp), str(n.fn), ev.fmt_ratio(n.precision),
                    ev.fmt_ratio(n.recall)])  # fmt: skip
    parts.append(_table(["check", "TP", "FP", "FN", "precision", "recall"], out))
    return "\n\n".join(parts)


def summary(
    real: list[dict[str, Any]], gen: list[dict[str, Any]], hard: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    total, faults = ev.overall(_counts(gen)), _faults(gen)
    judged = [r["view_ok"] for r in real if r["view_ok"] is not None]
    return {
        "real_counts_within_1": sum(r["count"] != "off" for r in real),
        "real_clips": len(real),
        "real_views_right": sum(judged),
        "real_views_judged": len(judged),
        "generated_clips": len(gen),
        "generated_count_exact": ev.rate(r["count_exact"] for r in gen),
        "generated_view_accuracy": ev.rate(r["view_ok"] for r in gen),
        "generated_precision": total.precision,
        "generated_recall": total.recall,
        "hard_view_clips": len(hard),
        "hard_view_accuracy": ev.rate(r["view_ok"] for r in hard),
        "generated_recall_clear": faults.recall_clear,
        "generated_faults": faults.faults,
        "generated_faults_clear": faults.clear,
        "generated_faults_not_assessable": faults.not_assessable,
        "generated_faults_missed": faults.missed,
    }


def summary_line(s: dict[str, Any]) -> str:
    return (
        f"real: counts within 1 {s['real_counts_within_1']}/{s['real_clips']}, views "
        f"{s['real_views_right']}/{s['real_views_judged']}; generated ({s['generated_clips']} "
        f"clips): count exact {ev.fmt_ratio(s['generated_count_exact'])}, view "
        f"{ev.fmt_ratio(s['generated_view_accuracy'])}, flags precision "
        f"{ev.fmt_ratio(s['generated_precision'])}, recall of clear faults "
        f"{ev.fmt_ratio(s['generated_recall_clear'])} ({s['generated_faults_clear']} of "
        f"{s['generated_faults']} clear), of all {ev.fmt_ratio(s['generated_recall'])} "
        f"({s['generated_faults_not_assessable']} not assessable, "
        f"{s['generated_faults_missed']} missed)"
        f"; hard view cases ({s['hard_view_clips']}): view "
        f"{ev.fmt_ratio(s['hard_view_accuracy'])}"
    )


# -- alternating sides -------------------------------------------------------------------------


def run_alternating(quick: bool = False) -> list[dict[str, Any]]:
    """Generated alternating lunges, step-ups and high knees (`analysis.testing.exercises`, even
    reps left, odd right) in every view, scored without a declared view: the count and each
    rep's recorded side (``reps.side``) against the truth."""
    library = load_library()
    jitters = (1.0,) if quick else (1.0, 3.0)
    out = []
    cases = itertools.product(ALTERNATING, ("side", "front", "oblique"), jitters)
    for seed, (exercise, view, jitter) in enumerate(cases):
        n = 8 if exercise == "high_knees" else 6
        clip = generate_exercise(exercise, view=view, reps=n, noise_px=jitter, seed=seed)
        result = score_keypoints(clip.points, exercise, library=library)
        reps = counted_rows(result.reps)
        sides = reps["side"].tolist() if "side" in reps.columns else []
        out.append({"setup": f"{exercise} {view}", "jitter_px": jitter, "true_reps": n,
                    "counted": len(reps), "count_exact": len(reps) == n,
                    "sides_right": sides == clip.truth.reps["side"].tolist()})  # fmt: skip
    return out


def alternating_table(rows: list[dict[str, Any]]) -> str:
    out = []
    for setup, group in _group(rows, "setup").items():
        out.append([setup, str(len(group)), ev.fmt_ratio(ev.rate(r["count_exact"] for r in group)),
                    ev.fmt_ratio(ev.rate(r["sides_right"] for r in group))])  # fmt: skip
    return _table(["alternating", "clips", "count exact", "sides right"], out)


# -- yoga flows --------------------------------------------------------------------------------


def run_yoga(scenarios: list[FlowScenario]) -> list[dict[str, Any]]:
    """Score every generated flow under ``yoga`` without a declared view; one row each."""
    library = load_library()
    out = []
    for sc in scenarios:
        clip = build_flow(sc)
        result = score_keypoints(clip.points, "yoga", library=library)
        reps, truth = counted_rows(result.reps, "hold").reset_index(drop=True), clip.truth.holds
        spans = list(zip(truth["start_s"], truth["turn_s"], truth["end_s"], strict=True))
        matched = ev.match_reps(spans, [float(t) for t in reps["turn_s"]])
        named = [d for d, k in matched.items() if reps["rule_id"][d] == truth["pose"][k]]
        errors = [abs(float(reps["duration_s"][d]) - float(truth["duration_s"][k]))
                  for d, k in matched.items()]  # fmt: skip
        by_rep = dict(zip(reps["rep_index"].astype(int), range(len(reps)), strict=True))
        flagged = [
            (matched.get(by_rep.get(int(f.rep_index), -1)), f"{f.rule_id}.{f.check_id}")
            for f in result.findings.itertuples()
            if ev.is_flag(str(f.severity))
        ]
        checks = [f"{p}.{c.id}" for p in set(truth["pose"]) for c in library[p].checks]
        counts = ev.flag_counts(sc.expected, flagged, checks=checks)
        out.append({
            "scenario": sc.name, "flow": sc.flow, "body_px": sc.body_px,
            "jitter_px": sc.jitter_px, "fps": sc.fps, "true_holds": len(truth),
            "holds": len(reps), "named": len(named),
            "in_order": list(reps["rule_id"]) == list(truth["pose"]),
            "hold_errors": errors, "flags": {c: vars(n) for c, n in counts.items()},
        })  # fmt: skip
    return out


def yoga_tables(rows: list[dict[str, Any]]) -> str:
    parts = []
    for key in ("flow", "body_px", "jitter_px", "fps"):
        out = []
        for value, group in sorted(_group(rows, key).items()):
            total = ev.overall(_counts(group))
            errors = [e for r in group for e in r["hold_errors"]]
            named = sum(r["named"] for r in group) / max(1, sum(r["true_holds"] for r in group))
            out.append([f"{value:g}" if isinstance(value, float) else str(value),
                        str(len(group)), ev.fmt_ratio(ev.rate(r["in_order"] for r in group)),
                        ev.fmt_ratio(named),
                        f"{sum(errors) / len(errors):.2f}" if errors else "-",
                        f"{max(errors):.2f}" if errors else "-",
                        ev.fmt_ratio(total.precision), ev.fmt_ratio(total.recall),
                        str(total.fp), str(total.fn)])  # fmt: skip
        header = [key, "clips", "poses in order", "named right", "hold err s", "max err s",
                  "precision", "recall", "FP", "FN"]  # fmt: skip
        parts.append(_table(header, out))
    out = []
    for c, n in _counts(rows).items():
        if n.tp or n.fp or n.fn:
            out.append([c, str(n.tp), str(n.fp), str(n.fn), ev.fmt_ratio(n.precision),
                        ev.fmt_ratio(n.recall)])  # fmt: skip
    if out:
        parts.append(_table(["pose check", "TP", "FP", "FN", "precision", "recall"], out))
    return "\n\n".join(parts)


def yoga_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = ev.overall(_counts(rows))
    errors = [e for r in rows for e in r["hold_errors"]]
    return {
        "yoga_clips": len(rows),
        "yoga_in_order": ev.rate(r["in_order"] for r in rows),
        "yoga_named": sum(r["named"] for r in rows) / max(1, sum(r["true_holds"] for r in rows)),
        "yoga_hold_error_s": sum(errors) / len(errors) if errors else math.nan,
        "yoga_precision": total.precision,
        "yoga_recall": total.recall,
    }


def yoga_line(s: dict[str, Any]) -> str:
    return (
        f"yoga ({s['yoga_clips']} flows): poses in order {ev.fmt_ratio(s['yoga_in_order'])}, "
        f"named {ev.fmt_ratio(s['yoga_named'])}, hold time off by {s['yoga_hold_error_s']:.2f} s "
        f"on average, flags precision {ev.fmt_ratio(s['yoga_precision'])} recall "
        f"{ev.fmt_ratio(s['yoga_recall'])}"
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller generated grid")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    real = run_real() if KEYPOINTS.is_dir() else []
    if not real:
        print(f"real clips: none ({KEYPOINTS} not found)")
    else:
        print("Real clips (../shared/data/keypoints; truth: the measurable count, within 1)")
        print(real_table(real))
    gen = run_generated(grid(quick=args.quick))
    print(
        "\nGenerated clips (analysis.testing.scenarios; flags = caution or risk; recall (clear): "
        "of the faults planted beyond the flag threshold by more than their finding's "
        "uncertainty; n/a: faults judged not assessable; missed: faults judged ok or info)"
    )
    print(generated_tables(gen))
    alternating = run_alternating(quick=args.quick)
    print("\nAlternating sides (analysis.testing.exercises; each rep's side against the truth)")
    print(alternating_table(alternating))
    yoga = run_yoga(flow_grid(quick=args.quick))
    print("\nYoga flows (analysis.testing.yoga; hold error: |measured - generated| per hold)")
    print(yoga_tables(yoga))
    hard = run_hard_views(quick=args.quick)
    print("\nHard view cases (analysis.testing.view_clips; confidence: the lowest segment's)")
    print(hard_view_table(hard))
    s = {**summary(real, gen, hard), **yoga_summary(yoga)}
    s["alternating_count_exact"] = ev.rate(r["count_exact"] for r in alternating)
    s["alternating_sides_right"] = ev.rate(r["sides_right"] for r in alternating)
    alt = (f"alternating ({len(alternating)} clips): count exact "
           f"{ev.fmt_ratio(s['alternating_count_exact'])}, sides right "
           f"{ev.fmt_ratio(s['alternating_sides_right'])}")  # fmt: skip
    print(f"\nsummary: {summary_line(s)}; {alt}; {yoga_line(s)} "
          f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(_json_safe({"summary": s, "real": real, "generated": gen,
                                                    "alternating": alternating, "yoga": yoga,
                                                    "hard_views": hard}),
                                        indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
