"""python -m scenarios.session [--flat] OUT FILE...: run scenarios inside the guest.

One BPF compile for the whole session; then per scenario: load the module,
and per run attach the probe groups its invariants need (scenarios/plan.py) and
the work counters (every run: its report's counted work), start a worker process
(engine.worker) with its source, sample its VMAs while it runs, detach, and
write the run's results; unload the module and keep the scenario's dmesg.
The host (python -m scenarios run) boots the guest and analyses afterwards.
"""
import contextlib
import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine import config
from lab import module, provenance
from scenarios import schema
from scenarios.plan import tracing_plan
from tracing.tracer import Tracer
from workloads import fawl

SAMPLE_S = 0.5  # VMA samples at most this often
PRINT_S = 2.0  # progress lines
READY_S = 60  # a worker's start-up (Python and cffi imports) under TCG
BAR = 30


# The worker starts without site (-S), its import path given whole instead: the .pth files of the
# site directories (setuptools' distutils shim; a machine's CA hook that imports certifi) took 1.4 s of
# every worker's start under TCG, where each file Python opens is a 9p round trip, and it needs none.
WORKER_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(module.REPO)] + [p for p in sys.path if p]))


def say(msg):
    print(msg, flush=True)


MAX_MAP_COUNT = Path("/proc/sys/vm/max_map_count")


def max_map_count(value=0):
    """vm.max_map_count; set it first when value is not 0."""
    if value:
        MAX_MAP_COUNT.write_text(f"{value}\n")
    return int(MAX_MAP_COUNT.read_text())


def count_vmas(pid):
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def dmesg_lines():
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()


def run_config(run, odirect_path, record_pfn):
    """The engine.config.RunConfig of one run of schema.runs()."""
    return config.RunConfig.from_sections(run["backend"], run, odirect_path=odirect_path or "",
                                          record_pfn=record_pfn)


class Worker:
    """One engine.worker process, its progress pipe and its answers."""

    def __init__(self, tracer, run_cfg):
        rfd, wfd = os.pipe()
        self.rfd = rfd
        self.proc = subprocess.Popen([sys.executable, "-S", "-m", "engine.worker", str(wfd)], pass_fds=(wfd,),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=module.REPO,
                                     env=WORKER_ENV)
        os.close(wfd)
        self.answers = {}
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.proc.stdin.write(json.dumps(dataclasses.asdict(run_cfg)) + "\n")
        self.proc.stdin.flush()
        if not self.ready.wait(READY_S):
            self.proc.kill()
            raise RuntimeError(f"the worker was not ready within {READY_S} s")
        tracer.add_pid(self.proc.pid)  # now: its start-up stays out of the trace
        self.proc.stdin.write("go\n")
        self.proc.stdin.close()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.answers.update(json.loads(line))
                if "ready" in self.answers:
                    self.ready.set()
            else:
                sys.stdout.write("  worker: " + line)
        self.ready.set()  # it ended: nobody waits forever

    def placed(self, timeout):
        """The latest pages-placed count, or None when nothing came."""
        ready, _, _ = select.select([self.rfd], [], [], timeout)
        if not ready:
            return None
        data = os.read(self.rfd, 8 * 512)
        if not data:
            return -1  # the worker closed the pipe: it has ended
        whole = len(data) // 8 * 8
        return int.from_bytes(data[whole - 8:whole], "little") if whole else None

    def close(self):
        os.close(self.rfd)


def bar(placed, pages, secs):
    n = int(BAR * placed / pages) if pages else 0
    return f"  [{'#' * n}{'.' * (BAR - n)}] {placed}/{pages} pages {secs:6.1f} s"


def one_run(tracer, sc, plan, run, index, odirect_path, out):
    saved = max_map_count()
    try:
        traced_run(tracer, sc, plan, run, index, odirect_path, out)
    finally:
        max_map_count(saved)


def area_pages(run):
    """The run's area: area.pages, or the replayed workload's regions."""
    return fawl.area_pages(fawl.find(run["workload"]["replay"])) if run["workload"]["replay"] else run["area"]["pages"]


def follow(worker, run, limit):
    """Read progress until the worker ends: draw the bar, sample its VMAs, kill
    the source when asked.  Returns (VMA samples, seconds, end time, kill time or None)."""
    pages, kill_at = area_pages(run), run["source"]["kill_after_pages"]
    t0, last, printed, placed = time.monotonic(), 0.0, 0.0, 0
    series, killed_at = [], None
    while True:
        got = worker.placed(SAMPLE_S)
        if got == -1:
            break
        placed = got if got is not None else placed
        now = time.monotonic()
        if kill_at and killed_at is None and placed >= kill_at and "source_pid" in worker.answers:
            os.kill(worker.answers["source_pid"], signal.SIGKILL)
            killed_at = now
            say(f"  source killed after {placed} pages")
        if now - last >= SAMPLE_S:
            vmas = count_vmas(worker.proc.pid)
            if vmas is not None:
                series.append([round(now - t0, 3), placed, vmas])
            last = now
        if now - printed >= PRINT_S:
            say(bar(placed, pages, now - t0))
            printed = now
        if now - t0 > limit and worker.proc.poll() is None:
            worker.proc.kill()
            say(f"  run killed: longer than the scenario's guest.timeout_s of {limit:g} s")
    worker.proc.wait()
    ended = time.monotonic()
    worker.reader.join(10)
    worker.close()
    return series, ended - t0, ended, killed_at


def traced_run(tracer, sc, plan, run, index, odirect_path, out):
    groups, record_pfn = plan
    run_cfg = run_config(run, odirect_path, record_pfn)
    extra = {"max_map_count": max_map_count(run_cfg.max_map_count), "record_pfn": record_pfn}
    tracer.attach(groups, sc["tracing"]["events"], work=True)
    try:
        worker = Worker(tracer, run_cfg)
        series, secs, ended, killed_at = follow(worker, run, sc["guest"]["timeout_s"])
    finally:
        trace = tracer.detach()
    if killed_at is not None:
        extra["kill_to_end_s"] = round(ended - killed_at, 3)
    result = worker.answers.get("result")
    if result is None:
        raise RuntimeError(f"run {run['label']}: the worker ended (status {worker.proc.returncode}) without "
                           "a result")
    say(bar(result["pages_placed"], result["pages"], secs))
    # the last point comes from the engine itself: a short run ends between samples
    series.append([round(secs, 3), result["pages_placed"], result["maps_lines_after"]])
    # The worker forks its source after its "go", so the tracer follows the source too; it is
    # not the workload, and its Python start-up would crowd the trace: drop its events.
    source = worker.answers.get("source_pid")
    events = [e for e in trace.events if e["tgid"] != source]
    with open(out / "trace.jsonl", "a") as f:
        for ev in events:
            f.write(json.dumps(dict(ev, run=index)) + "\n")
    summary = dict(trace.summary, events=len(events))
    (out / "runs" / f"{index}.json").write_text(json.dumps(dict(
        schema=provenance.RESULTS_SCHEMA, provenance=provenance.collect(), index=index, label=run["label"],
        backend=run["backend"], variant=run["variant"],
        config={k: run[k] for k in config.SECTIONS}, result=result, tgid=worker.proc.pid,
        vma_series=series, extra=extra, trace=summary)) + "\n")
    status = "ok" if result["ok"] else f"FAILED: {result['error']}"
    say(f"  {run['label']}: {status}; {result['pages_placed']} pages placed in {result['wall_s']:.2f} s, "
        f"{result['faults']} faults, {len(events)} events, {summary['lost_events']} lost")


def one_scenario(tracer, path, sc, out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs").mkdir(exist_ok=True)
    (out / "trace.jsonl").unlink(missing_ok=True)
    (out / "scenario.yaml").write_text(Path(path).read_text())
    (out / "scenario.json").write_text(json.dumps(sc, indent=1) + "\n")
    mark = len(dmesg_lines())
    runs = schema.runs(sc)
    say(f"== {sc['name']}: {len(runs)} run(s); expect: {' '.join(sc['expect'].split())}")
    plan = tracing_plan(sc)
    say(f"   tracing: {', '.join(plan[0]) or 'no probes'}{'; pfns read' if plan[1] else ''}")
    module.load_module()
    needs_odirect = any(s["kind"] == "odirect" for r in runs for s in r["workload"]["kernel_steps"])
    try:
        with module.ext4_dir() if needs_odirect else contextlib.nullcontext() as d:
            for i, run in enumerate(runs):
                say(f"-- run {i + 1}/{len(runs)}: {run['label']}")
                one_run(tracer, sc, plan, run, i, str(d / "odirect") if d else None, out)
    finally:
        module.unload_module()
        (out / "dmesg.txt").write_text("\n".join(dmesg_lines()[mark:]) + "\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    flat = argv[:1] == ["--flat"]  # one scenario: its results are OUT itself, not OUT/<name>
    argv = argv[flat:]
    if len(argv) < 2:
        sys.exit("usage: python -m scenarios.session [--flat] OUT FILE... (in the guest; see python -m scenarios run)")
    out, files = Path(argv[0]), argv[1:]
    scenarios = [(f, schema.load(f)) for f in files]
    pages = max(sc["tracing"]["ringbuf_pages"] for _, sc in scenarios)
    say(f"session: compiling the tracer once for {len(scenarios)} scenario(s)")
    t = time.monotonic()
    tracer = Tracer(pids=(), filter_tgid=True, ringbuf_pages=pages).compile()
    say(f"session: compiled in {time.monotonic() - t:.1f} s")
    status = 0
    try:
        for f, sc in scenarios:
            where = out if flat else out / sc["name"]
            try:
                one_scenario(tracer, f, sc, where)
            except Exception as e:  # one broken scenario must not hide the others' results
                say(f"session: scenario {sc['name']} did not complete: {type(e).__name__}: {e}")
                status = 1
    finally:
        tracer.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
