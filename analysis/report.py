"""A scenario's report: invariants, figures per run, plots.

analyze() re-reads nothing: it takes a loaded ScenarioResult and writes
summary.json, report.md and plots/*.png into its directory, so a report can
be redone at any time with `python -m analysis DIR`.
"""
import dataclasses
import json

from analysis import figures, invariants, plots

MARK = {"pass": "pass", "fail": "FAIL", "skip": "skip"}


def analyze(res):
    verdicts = invariants.check_all(res.scenario["invariants"], res.runs)
    figs = {r.label: figures.of_run(r) for r in res.runs}
    (res.path / "plots").mkdir(exist_ok=True)
    made = {}
    for name, fn in plots.PLOTS.items():
        out = fn(res.runs, res.path / "plots" / f"{name}.png")
        if out:
            made[name] = out.relative_to(res.path)
    summary = {"scenario": res.scenario["name"], "expect": res.scenario["expect"],
               "ok": all(v.as_expected for v in verdicts),
               "invariants": [dataclasses.asdict(v) | {"as_expected": v.as_expected} for v in verdicts],
               "figures": figs,
               "runs": [{"label": r.label, "ok": r.result["ok"], "error": r.result["error"]} for r in res.runs],
               "plots": [str(p) for p in made.values()]}
    (res.path / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (res.path / "report.md").write_text(markdown(res, verdicts, figs, made))
    return summary


def _cell(v):
    return "-" if v is None else str(v)


def markdown(res, verdicts, figs, made):
    sc = res.scenario
    out = [f"# {sc['name']}", "", sc["description"].strip(), "", f"**Expected:** {sc['expect'].strip()}", "",
           "## Invariants", "", "| invariant | run | result | expected | why | metrics |", "|---|---|---|---|---|---|"]
    for v in verdicts:
        metrics = ", ".join(f"{k} {m[0]} {m[1]}" for k, m in v.metrics.items())
        result = MARK[v.status] + ("" if not v.as_expected else " (predicted)" if v.status == "fail" else "")
        result += "" if v.as_expected else " (unexpected)"
        out.append(f"| {v.invariant} | {v.run} | {result} | {v.expect} | {v.reason.replace('|', '/')} | {metrics} |")
    out += ["", "## Figures per run", ""]
    head = ["run"] + [f"{h} ({u})" for _, h, u in figures.COLUMNS]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, f in figs.items():
        out.append("| " + " | ".join([label] + [_cell(f[k]) for k, _, _ in figures.COLUMNS]) + " |")
    failed = [r for r in res.runs if not r.result["ok"]]
    if failed:
        out += ["", "Runs that failed: " + "; ".join(f"{r.label}: {r.result['error']}" for r in failed)]
    missing = sorted({f"{k} ({w})" for r in res.runs for k, w in r.trace.get("missing", {}).items()})
    if missing:
        out += ["", "Probes missing on this kernel: " + "; ".join(missing)]
    if made:
        out += ["", "## Plots", ""] + [f"![{name}]({p})" for name, p in made.items()]
    out += ["", "Raw data: runs/*.json (per run), trace.jsonl (events, when on), dmesg.txt. "
            "Read one page's events with `python -m analysis page-story DIR ADDR`.", ""]
    return "\n".join(out)
