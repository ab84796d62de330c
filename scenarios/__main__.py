"""python -m scenarios: check scenarios, or run them in one guest boot and report."""
import argparse
import sys
import time
from pathlib import Path

from analysis import report
from lab import guest
from scenarios import doc, schema

HERE = Path(__file__).resolve().parent
COMPILE_S = 120  # the tracer's one compile, with room to spare under TCG

EXAMPLES = """examples:
  python -m scenarios run                         # the default suite (what make run runs)
  python -m scenarios run scenarios/postcopy-basic.yaml
  python -m scenarios run --suite default --results results/mine
  python -m scenarios check scenarios/*.yaml      # schema check only, no guest
  python -m scenarios list                        # the scenarios and suites here
"""


def suite_files(name):
    path = HERE / f"{name}.suite"
    if not path.exists():
        known = ", ".join(p.stem for p in HERE.glob("*.suite"))
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


def run(files, label, results, echo=True):
    """Boot once per distinct guest (memory, cpus), run the scenarios, analyse; returns an exit status."""
    loaded = [(Path(f).resolve(), schema.load(f)) for f in files]
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
        res = guest.run([guest.Step("scenarios", cmd, timeout=timeout)], boot_dir, memory=memory, cpus=cpus,
                        echo=echo, rw=[results.resolve()])
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
        files = args.files or suite_files(args.suite)
        label = schema.load(files[0])["name"] if len(files) == 1 else args.suite
        return run(files, label, args.results)
    except (schema.ScenarioError, guest.GuestError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
