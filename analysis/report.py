"""A scenario's report: invariants, figures per run, plots.

analyze() re-reads nothing: it takes a loaded ScenarioResult and writes
summary.json, report.md and plots/*.png into its directory, so a report can
be redone at any time with `python -m analysis DIR`.  reports() does that
for scenario or suite directories and summary_table() prints the verdicts;
`python -m analysis` and `python -m scenarios run` both use them.
"""
import dataclasses
import json

from analysis import figures, invariants, load, phases, plots, qemu, replay, work
from lab.provenance import RESULTS_SCHEMA

MARK = {"pass": "pass", "fail": "FAIL", "skip": "skip", "undecided": "undecided"}


def provenance(runs):
    """The provenance of a scenario's runs: each key's value when the runs agree, else their distinct values."""
    out = {}
    for r in runs:
        for k, v in r.provenance.items():
            out.setdefault(k, [])
            if v not in out[k]:
                out[k].append(v)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def analyze(res):
    verdicts = invariants.check_all(res.scenario["invariants"], res.runs)
    figs = {r.label: figures.of_run(r) for r in res.runs}
    (res.path / "plots").mkdir(exist_ok=True)
    made = {}
    for name, fn in (plots.PLOTS | {"replay-timeline": replay.timeline}).items():
        out = fn(res.runs, res.path / "plots" / f"{name}.png")
        if out:
            made[name] = out.path.relative_to(res.path)
    summary = {"schema": RESULTS_SCHEMA, "provenance": provenance(res.runs),
               "scenario": res.scenario["name"], "expect": res.scenario["expect"],
               "ok": all(v.as_expected for v in verdicts),
               "outcomes": {o: sum(v.status == o for v in verdicts) for o in invariants.OUTCOMES},
               "invariants": [dataclasses.asdict(v) | {"as_expected": v.as_expected} for v in verdicts],
               "work_per_fault": {r.label: work.of_run(r) for r in res.runs},
               "figures": figs, **fault_figures(res.runs), "replay": replay.of_runs(res.runs),
               "runs": [{"label": r.label, "ok": r.result["ok"], "error": r.result["error"],
                         "provenance": r.provenance} for r in res.runs],
               "plots": [str(p) for p in made.values()]}
    (res.path / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (res.path / "report.md").write_text(markdown(res, verdicts, figs, made, summary))
    return summary


def fault_figures(runs):
    """Per run: a fault in phases (analysis.phases) and QEMU's post-copy figures (analysis.qemu)."""
    return {"phases": {r.label: phases.of_run(r.result) for r in runs},
            "qemu": {r.label: qemu.of_run(r.result) for r in runs}}


def fault_tables(summary):
    out = phases.markdown(summary["phases"])
    out = (["", "## A fault in phases", "", "Trap (access to handler entry), fetch, place, return (placed to the "
            "access completed); how each boundary is measured: analysis/phases.py.", ""] + out) if out else []
    q = qemu.markdown(summary["qemu"])
    if q:
        out += ["", "## QEMU's figures", "", "As `query-migrate` reports them with postcopy-blocktime on "
                "(analysis/qemu.py): a fault is a first touch, access start to access end.", ""] + q
    return out


def reports(paths):
    """analyze() every scenario under paths (scenario or suite directories); their summaries, with "dir"."""
    summaries = []
    for p in paths:
        for d in load.scenario_dirs(p):
            summaries.append(analyze(load.load(d)) | {"dir": str(d)})
    return summaries


def summary_table(summaries):
    """One line per invariant verdict, for the terminal, then the outcome counts."""
    lines = [f"{'SCENARIO':<24} {'INVARIANT':<20} {'RUN':<28} {'RESULT':<10} WHY"]
    for s in summaries:
        for v in s["invariants"]:
            result = MARK[v["status"]]
            if v["status"] == "fail" and v["as_expected"]:
                result = "fail*"
            elif not v["as_expected"]:
                result += "!"
            lines.append(f"{s['scenario']:<24} {v['invariant']:<20} {v['run'][:28]:<28} {result:<10} "
                         f"{v['reason'][:90]}")
    total = {o: sum(s["outcomes"][o] for s in summaries) for o in invariants.OUTCOMES}
    lines.append(", ".join(f"{n} {o}" for o, n in total.items()) +
                 " (undecided: the data to decide was missing; skip: does not apply)")
    lines.append("(fail* = a failure the scenario predicts, e.g. the mprotect strawman; ! = not as predicted)")
    return "\n".join(lines)


def _cell(v):
    return "-" if v is None else str(v)


def markdown(res, verdicts, figs, made, summary):
    sc, prov = res.scenario, summary["provenance"]
    out = [f"# {sc['name']}", "", sc["description"].strip(), "", f"**Expected:** {sc['expect'].strip()}", "",
           f"Results schema {summary['schema']}; kernel {prov.get('kernel')}, accel {prov.get('accel')}, "
           f"commit {prov.get('commit')}, fault_area.ko srcversion {prov.get('module_srcversion') or '-'}.", "",
           "## Counted kernel work per fault", "",
           "Counted in the kernel for the workload's tgid, over the whole run (setup and teardown too): "
           "the same under TCG, KVM and bare metal, unlike the times below.", "",
           *work.markdown(summary["work_per_fault"]), "",
           "## Invariants", "", "Outcomes: " + ", ".join(f"{n} {o}" for o, n in summary["outcomes"].items()) + ".",
           "", "| invariant | run | result | expected | why | metrics |", "|---|---|---|---|---|---|"]
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
    out += replay.markdown(summary["replay"])
    out += fault_tables(summary)
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
