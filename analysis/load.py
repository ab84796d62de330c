"""Read a scenario's results directory back (written by scenarios.session).

    <dir>/scenario.yaml    the scenario as given      scenario.json  with defaults
    <dir>/runs/<i>.json    one run: schema, provenance, config, engine result, tgid, VMA samples, trace summary
    <dir>/trace.jsonl      events of every run, each with "run": i (when events are on), read into
                           columns (analysis.events)

A run written under another results schema (lab.provenance.RESULTS_SCHEMA)
or trace schema (tracing.probes.SCHEMA_VERSION) is refused, not guessed at.
    <dir>/dmesg.txt        the kernel log lines the scenario produced
"""
import dataclasses
import json
from pathlib import Path

from analysis.events import Events, TraceError, read_jsonl
from lab.provenance import RESULTS_SCHEMA
from tracing.probes import SCHEMA_VERSION


@dataclasses.dataclass
class Run:
    index: int
    label: str
    backend: str
    config: dict  # area, workload, source as run
    result: dict  # engine.run.RunResult as a dict
    tgid: int  # the worker process: the workload's tgid in the trace
    vma_series: list  # [seconds, pages placed, VMAs of the process]
    extra: dict  # max_map_count, record_pfn, kill_to_end_s
    trace: dict  # the trace summary of this run (counts, missing, lost_events, groups)
    events: Events | None  # None when events were off
    dmesg: str
    provenance: dict  # kernel, accel, commit, module_srcversion, created (lab.provenance)
    variant: str = ""  # the scenario variant's label ("" without variants)


@dataclasses.dataclass
class ScenarioResult:
    path: Path
    scenario: dict
    runs: list


class ResultsError(Exception):
    pass


def load(path):
    path = Path(path)
    try:
        scenario = json.loads((path / "scenario.json").read_text())
    except OSError:
        raise ResultsError(f"{path}: no scenario.json; is this a scenario's results directory?") from None
    dmesg = (path / "dmesg.txt").read_text(errors="replace") if (path / "dmesg.txt").exists() else ""
    docs = [(f, json.loads(f.read_text())) for f in sorted((path / "runs").glob("*.json"), key=lambda p: int(p.stem))]
    for f, d in docs:
        check_schema(f, d)
    events = {}
    trace = path / "trace.jsonl"
    if trace.exists():
        try:
            events = read_jsonl(trace)
        except TraceError as e:
            raise ResultsError(f"{trace}: {e}") from None
    empty = Events.from_dicts([])
    runs = [Run(index=d["index"], label=d["label"], backend=d["backend"], config=d["config"], result=d["result"],
                tgid=d["tgid"], vma_series=d["vma_series"], extra=d["extra"], trace=d["trace"],
                events=events.get(d["index"], empty) if d["trace"].get("events_on") else None, dmesg=dmesg,
                provenance=d["provenance"], variant=d.get("variant", "")) for f, d in docs]
    return ScenarioResult(path=path, scenario=scenario, runs=runs)


def check_schema(f, d):
    """Refuse a run written under another results or trace schema, saying what to do."""
    if d.get("schema") != RESULTS_SCHEMA:
        raise ResultsError(f"{f}: results schema {d.get('schema', '(none: written before fa-results/2)')!r}, "
                           f"this analysis reads {RESULTS_SCHEMA!r}; re-run the scenario "
                           "(python -m scenarios run FILE) to get results it can read")
    version = d["trace"].get("version")
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{f}: trace schema {version!r}, this analysis reads {SCHEMA_VERSION!r} "
                           "(tracing/SCHEMA.md); re-run the scenario (python -m scenarios run FILE)")


def scenario_dirs(path):
    """A scenario's directory, or the scenario directories of a suite's."""
    path = Path(path)
    if (path / "scenario.json").exists():
        return [path]
    found = sorted(p.parent for p in path.glob("*/scenario.json"))
    if not found:
        raise ResultsError(f"{path}: no scenario results here (no scenario.json, nor */scenario.json)")
    return found
