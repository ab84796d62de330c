"""python -m engine.worker: one engine run in a process of its own.

The scenario runner traces this process's tgid, so the tgid holds the
workload and nothing else (the runner's own threads and BPF polling would
otherwise add mappings and faults of their own).

Protocol, one JSON line each way at a time: the parent starts
`python -m engine.worker PROGRESS_FD` and writes a RunConfig as a mapping
(dataclasses.asdict); the worker, its imports done, answers {"ready": true}; the parent
adds the pid to its tracer (so that Python's start-up stays out of the
trace) and writes "go"; the worker prints {"source_pid": N} once the source
runs (null for the local source, which has no process), then {"result": RunResult}, and exits.
"""
import dataclasses
import json
import sys

from engine.config import RunConfig
from engine.run import run


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    progress_fd = int(argv[0]) if argv else -1
    config = RunConfig.from_dict(json.loads(sys.stdin.readline()))

    def on_source(src):
        print(json.dumps({"source_pid": src.pid}), flush=True)

    print(json.dumps({"ready": True}), flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    res = run(config, progress_fd=progress_fd, on_source=on_source)
    # Shallow: dataclasses.asdict() copies every per-fault list item by item, a second and more under TCG.
    print(json.dumps({"result": dict(vars(res), kernel_steps=[dataclasses.asdict(s) for s in res.kernel_steps])}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
