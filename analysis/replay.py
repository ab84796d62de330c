"""The figures of replayed workloads (workload.replay): per run, its slowdown against the no-fault baseline
in the same scenario (workload.prefill: the same backend's, else the first there is), the stall per vCPU thread and QEMU's blocktime
(analysis.qemu), faults, pages pushed, pages never touched, and the faults the push saved against the same
backend with push off; and a timeline plot: faults per 100 ms per thread, with the push stream."""
from analysis import plots, qemu

BIN_S = 0.1


def _replayed(runs):
    return [r for r in runs if r.config["workload"].get("replay") and r.result.get("replay")]


def _key(run, **changes):
    """What identifies a run's counterpart: backend, push on/order and prefill, with changes applied."""
    w, s = run.config["workload"], run.config["source"]
    key = {"backend": run.backend, "push": s["push"], "order": s.get("push_order", "sequential"),
           "prefill": w.get("prefill", False)}
    return tuple((key | changes).items())


def _replay_faults(run):
    """Faults during the replay (first access to last); the pages never touched fault after it, for the check."""
    return sum(t <= run.result["t_end_ns"] for t in run.result["fault_t_ns"])


def _saved(other, run):
    """Faults during the replay that run took fewer than other (a counterpart with no push or push sequential),
    for a run that pushed in the recorded order."""
    if other is None or other is run or not run.result["pages_pushed"] or run.config["source"].get(
            "push_order") != "recorded":
        return None
    return _replay_faults(other) - _replay_faults(run)


def of_runs(runs):
    """{label: figures} of the replayed runs of one scenario (empty when it replays nothing)."""
    runs = _replayed(runs)
    by_key = {_key(r): r for r in runs}
    out = {}
    for r in runs:
        res = r.result
        wall = (res["t_end_ns"] - res["t_start_ns"]) / 1e9
        bases = [b for b in runs if b.config["workload"].get("prefill") and b.result["ok"]]
        base = by_key.get(_key(r, push=False, order="sequential", prefill=True)) or (bases[0] if bases else None)
        off = by_key.get(_key(r, push=False, order="sequential"))
        seq = by_key.get(_key(r, push=True, order="sequential"))
        q = qemu.of_run(res) or {}
        base_wall = (base.result["t_end_ns"] - base.result["t_start_ns"]) / 1e9 if base else None
        out[r.label] = {
            "replay_s": round(wall, 3), "recorded_compute_s": round(res["replay"]["compute_ns"] / 1e9, 3),
            "slowdown": round(wall / base_wall, 3) if base_wall else None, "baseline": base.label if base else None,
            "stall_per_thread_ms": q.get("postcopy-vcpu-blocktime"), "blocktime_ms": q.get("postcopy-blocktime"),
            "faults": _replay_faults(r), "pages_pushed": res["pages_pushed"],
            "never_touched": res["pages"] - res["replay"]["touches"],
            "faults_saved": _saved(off, r), "faults_saved_vs_sequential": _saved(seq, r),
        }
    return out


COLUMNS = (("replay_s", "replay", "s"), ("recorded_compute_s", "recorded compute", "s"),
           ("slowdown", "slowdown vs baseline", "x"), ("baseline", "baseline", "run"), ("blocktime_ms", "blocktime, all threads", "ms"),
           ("stall_per_thread_ms", "stall per thread", "ms"), ("faults", "faults during the replay", "faults"),
           ("pages_pushed", "pushed", "pages"), ("faults_saved", "faults saved vs push off", "faults"),
           ("faults_saved_vs_sequential", "faults saved vs push sequential", "faults"),
           ("never_touched", "never touched", "pages"))


def markdown(figs):
    if not figs:
        return []
    out = ["", "## Replay", "", "The replay's duration (first access to last), its slowdown against the baseline "
           "(a run with every page placed before the threads start: the same backend's, else the one named), the time each thread stalled in "
           "first touches and the time all were stalled at once (QEMU's blocktime), and the faults the push in the "
           "recorded order saved against push off and against push sequential (analysis/replay.py).", ""]
    head = ["run"] + [f"{h} ({u})" for _, h, u in COLUMNS]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, f in figs.items():
        cells = [", ".join(map(str, v)) if isinstance(v, list) else "-" if v is None else str(v)
                 for v in (f[k] for k, _, _ in COLUMNS)]
        out.append("| " + " | ".join([label] + cells) + " |")
    return out


def _per_bin(times, t0):
    """Counts per BIN_S bin of CLOCK_MONOTONIC ns times, from t0 (negative bins before it): (xs in s, counts)."""
    bins = {}
    for t in times:
        b = (t - t0) // int(BIN_S * 1e9)
        bins[b] = bins.get(b, 0) + 1
    xs = range(min(bins), max(bins) + 1)
    return [x * BIN_S for x in xs], [bins.get(x, 0) for x in xs]


def timeline(runs, path):
    """Per replayed run (one panel each): faults per 100 ms per vCPU thread (numbered in order of their first
    fault) during the replay, and pages pushed per 100 ms (negative times: pushed before the threads started)."""
    runs = [r for r in _replayed(runs) if r.result["fault_t_ns"] or r.result["push_t_ns"]]
    if not runs:
        return None
    fig, axes = plots.plt.subplots(len(runs), 1, figsize=(8, 2.2 * len(runs)), squeeze=False)
    series = {}
    for ax, r in zip(axes[:, 0], runs):
        res, t0 = r.result, r.result["t_start_ns"]
        lines, vcpu = {}, {}
        for t, tid in zip(res["fault_t_ns"], res["fault_tid"]):
            if t <= res["t_end_ns"]:  # after it, the pages never touched are faulted in for the check
                lines.setdefault(f"faults, thread {vcpu.setdefault(tid, len(vcpu))}", []).append(t)
        if res["push_t_ns"]:
            lines["pushed pages"] = res["push_t_ns"]
        for name, times in lines.items():
            series[f"{r.label}: {name}"] = _per_bin(times, t0)
            ax.plot(*series[f"{r.label}: {name}"], ".--" if name == "pushed pages" else ".-", label=name)
        ax.set_title(r.label, fontsize=9)
        ax.set_ylabel(f"per {int(BIN_S * 1000)} ms (pages)", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    axes[-1, 0].set_xlabel("time since the replay's start (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plots.plt.close(fig)
    return plots.Plot(path, series)
