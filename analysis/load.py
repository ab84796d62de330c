"""Read a scenario's results directory back (written by scenarios.session).

    <dir>/scenario.yaml    the scenario as given      scenario.json  with defaults
    <dir>/runs/<i>.json    one run: config, engine result, tgid, VMA samples, trace summary
    <dir>/trace.jsonl      events of every run, each with "run": i (when events are on)
    <dir>/dmesg.txt        the kernel log lines the scenario produced
"""
import dataclasses
import json
from pathlib import Path


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
    events: list | None  # None when events were off
    dmesg: str


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
    events = {}
    trace = path / "trace.jsonl"
    if trace.exists():
        with open(trace) as f:
            for line in f:
                ev = json.loads(line)
                events.setdefault(ev.pop("run"), []).append(ev)
    runs = []
    for f in sorted((path / "runs").glob("*.json"), key=lambda p: int(p.stem)):
        d = json.loads(f.read_text())
        runs.append(Run(index=d["index"], label=d["label"], backend=d["backend"], config=d["config"],
                        result=d["result"], tgid=d["tgid"], vma_series=d["vma_series"], extra=d["extra"],
                        trace=d["trace"], events=events.get(d["index"], []) if d["trace"].get("events_on")
                        else None, dmesg=dmesg))
    return ScenarioResult(path=path, scenario=scenario, runs=runs)


def scenario_dirs(path):
    """A scenario's directory, or the scenario directories of a suite's."""
    path = Path(path)
    if (path / "scenario.json").exists():
        return [path]
    found = sorted(p.parent for p in path.glob("*/scenario.json"))
    if not found:
        raise ResultsError(f"{path}: no scenario results here (no scenario.json, nor */scenario.json)")
    return found
