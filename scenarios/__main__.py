"""python -m scenarios: check scenarios, or run them in one guest boot and report."""
import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

import workloads
from analysis import report
from lab import guest
from scenarios import doc, schema
from workloads import fawl

HERE = Path(__file__).resolve().parent
COMPILE_S = 120  # the tracer's one compile, with room to spare under TCG

EXAMPLES = """examples:
  python -m scenarios run                         # the default suite (what make run runs)
  python -m scenarios run scenarios/postcopy-basic.yaml
  python -m scenarios run --suite default --results results/mine
  python -m scenarios check scenarios/*.yaml      # schema check only, no guest
  python -m scenarios list                        # the scenarios and suites here
  python -m scenarios record xz                   # record the recipe xz into results/workloads/xz.fawl
  python -m scenarios record --ship ls -- ls -lR /usr/share  # record a program into workloads/ls.fawl
"""
SHIP_MAX = 2 << 20  # a workload file committed to workloads/ stays below 2 MiB
RECORD_SLACK_S = 120  # the recorder's BPF compile and the recipe's setup, under TCG


def suite_files(name):
    path = HERE / f"{name}.suite"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in HERE.glob("*.suite")))
        raise schema.ScenarioError(f"{path}: no such suite; known suites: {known}")
    files = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#")[0].strip()
        if line:
            f = HERE / line
            if not f.exists():
                raise schema.ScenarioError(f"{path}:{n}: {line}: no such scenario file")
            files.append(f)
    return files


def record_step(name, cmd=()):
    """The guest step that records workload name (its recipe, or cmd) into results/workloads/."""
    timeout = (workloads.RECIPES[name].timeout if name in workloads.RECIPES else 600) + RECORD_SLACK_S
    tail = f" -- {shlex.join(cmd)}" if cmd else ""
    return guest.Step(f"record-{name}", f"python -m workloads.record {name} {fawl.CACHE / name}.fawl{tail}",
                      timeout=timeout)


def unrecorded(loaded):
    """The workloads the scenarios replay that are not recorded yet (their recipes are)."""
    names = {r["workload"]["replay"] for _, sc in loaded for r in schema.runs(sc)} - {""}
    out = []
    for name in sorted(names):
        try:
            fawl.find(name)
        except fawl.WorkloadError:
            out.append(name)
    return out


def record(name, cmd, ship, results):
    """Boot, record one workload into results/workloads/ (and workloads/ with ship); an exit status."""
    if not cmd and name not in workloads.RECIPES:
        raise schema.ScenarioError(f"no recipe {name!r} (known: {', '.join(workloads.RECIPES)}); "
                                   "give the program after --")
    results = Path(results or Path("results") / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-record-{name}"))
    res = guest.run([record_step(name, cmd)], results, rw=[fawl.CACHE])
    out = fawl.CACHE / f"{name}.fawl"
    if not res.ok or not out.exists():
        print(f"record: {name} failed: {res.reason or f'exit status {res.rc}'} (console: {results / 'console.log'})",
              file=sys.stderr)
        return 1
    size = out.stat().st_size
    print(f"record: {out} ({size} bytes)")
    if ship:
        if size >= SHIP_MAX:
            print(f"record: {name}: {size} bytes is too large to ship (< {SHIP_MAX} bytes): keep the recipe, "
                  "make run records it", file=sys.stderr)
            return 1
        shutil.copy(out, fawl.SHIPPED / out.name)
        print(f"record: shipped as {fawl.SHIPPED / out.name}")
    return 0


def run(files, label, results, echo=True):
    """Boot once per distinct guest (memory, cpus), record the workloads they replay that are not recorded
    yet (in the first boot), run the scenarios, analyse; returns an exit status."""
    loaded = [(Path(f).resolve(), schema.load(f)) for f in files]
    records = [record_step(name) for name in unrecorded(loaded)]
    names = [sc["name"] for _, sc in loaded]
    if len(set(names)) != len(names):
        raise schema.ScenarioError(f"two scenarios share a name: {names}")
    results = Path(results or Path("results") / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{label}"))
    groups = {}
    for f, sc in loaded:
        groups.setdefault((sc["guest"]["memory"], sc["guest"]["cpus"]), []).append((f, sc))
    status = 0
    for i, ((memory, cpus), members) in enumerate(groups.items()):
        timeout = COMPILE_S + sum(sc["guest"]["timeout_s"] for _, sc in members)
        flat = ["--flat"] if len(loaded) == 1 else []
        cmd = "python -m scenarios.session " + " ".join(flat + [str(results.resolve())] + [str(f) for f, _ in members])
        boot_dir = results / ("guest" if len(groups) == 1 else f"guest-{i + 1}")
        steps = (records if i == 0 else []) + [guest.Step("scenarios", cmd, timeout=timeout)]
        res = guest.run(steps, boot_dir, memory=memory, cpus=cpus, echo=echo,
                        rw=[results.resolve()] + ([fawl.CACHE] if records else []))
        if not res.ok:
            print(f"scenarios: the guest run failed: {res.reason or f'exit status {res.rc}'} "
                  f"(console: {boot_dir / 'console.log'})", file=sys.stderr)
            status = 1
    summaries = []
    for f, sc in loaded:
        d = results if len(loaded) == 1 else results / sc["name"]
        if not (d / "runs").is_dir() or not any((d / "runs").iterdir()):
            print(f"scenarios: {sc['name']}: no results (see {d})", file=sys.stderr)
            status = 1
            continue
        summaries += report.reports([d])
    print(report.summary_table(summaries))
    for s in summaries:
        if not s["ok"]:
            status = 1
    print(f"reports: {results.resolve()}/" + ("report.md" if len(loaded) == 1 else "*/report.md"))
    return status


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m scenarios", description="Scenarios of the fault-area lab.",
                                 epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run scenarios in the guest, then analyse")
    r.add_argument("files", nargs="*", help="scenario files (default: the suite)")
    r.add_argument("--suite", default="default", help="a scenarios/<name>.suite file (default %(default)s)")
    r.add_argument("--results", type=Path, help="results directory (default results/<UTC time>-<name>)")
    c = sub.add_parser("check", help="check scenario files against the schema")
    c.add_argument("files", nargs="+")
    sub.add_parser("list", help="list scenarios and suites")
    sub.add_parser("doc", help="print the key reference of scenarios/README.md")
    w = sub.add_parser("record", help="record a workload in the guest (workloads/README.md)")
    w.add_argument("name", help="the workload's name: a recipe's, or a new one with a program after --")
    w.add_argument("--ship", action="store_true", help="copy it into workloads/ as well (it must be < 2 MiB)")
    w.add_argument("--results", type=Path, help="the boot's results directory")
    w.add_argument("program", nargs=argparse.REMAINDER, help="-- the program and its arguments (default: the recipe)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "check":
            for f in args.files:
                sc = schema.load(f)
                print(f"{f}: ok ({sc['name']}, {len(schema.runs(sc))} runs, {len(sc['invariants'])} invariants)")
            return 0
        if args.cmd == "list":
            for f in sorted(HERE.glob("*.yaml")):
                sc = schema.load(f)
                print(f"{sc['name']:<24} {' '.join(sc['description'].split())[:90]}")
            for f in sorted(HERE.glob("*.suite")):
                print(f"suite {f.stem}: {len(suite_files(f.stem))} scenarios")
            return 0
        if args.cmd == "doc":
            print(doc.reference(), end="")
            return 0
        if args.cmd == "record":
            return record(args.name, args.program[1:] if args.program[:1] == ["--"] else args.program, args.ship,
                          args.results)
        files = args.files or suite_files(args.suite)
        label = schema.load(files[0])["name"] if len(files) == 1 else args.suite
        return run(files, label, args.results)
    except (schema.ScenarioError, guest.GuestError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
