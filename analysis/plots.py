"""The report's plots, PNG, units on every axis; one function per plot, each
taking the loaded runs and a path, and returning a Plot (the path and the
series drawn, so tests check the data, not the picture) or None when the
runs hold nothing to plot."""
import dataclasses

import matplotlib

from analysis import phases

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)


@dataclasses.dataclass
class Plot:
    path: object
    series: dict  # line label -> (xs, ys) as drawn
    lines: dict = dataclasses.field(default_factory=dict)  # label of a horizontal line -> its y


def _save(fig, ax, path, title, series, lines=None):
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Plot(path, series, lines or {})


def latency_cdf(runs, path):
    """Per-fault end-to-end latency (first touch to return), CDF per run."""
    runs = [r for r in runs if r.result["e2e_ns"]]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    series = {}
    for r in runs:
        xs = sorted(v / 1000 for v in r.result["e2e_ns"])
        series[r.label] = (xs, [(i + 1) / len(xs) for i in range(len(xs))])
        ax.plot(*series[r.label], label=r.label)
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end fault latency (us, log scale)")
    ax.set_ylabel("fraction of first touches (1)")
    return _save(fig, ax, path, "Per-fault latency CDF", series)


def vma_growth(runs, path):
    """VMAs of the process against pages placed, sampled during each run."""
    runs = [r for r in runs if len(r.vma_series) > 1]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    series, lines = {}, {}
    for r in runs:
        series[r.label] = ([s[1] for s in r.vma_series], [s[2] for s in r.vma_series])
        ax.plot(*series[r.label], marker=".", label=r.label)
    limit = runs[0].extra.get("max_map_count")
    if limit:
        lines["vm.max_map_count"] = limit
        ax.axhline(limit, color="red", linestyle="--", label=f"vm.max_map_count ({limit})")
    ax.set_xlabel("pages placed (pages)")
    ax.set_ylabel("VMAs of the process (VMAs)")
    return _save(fig, ax, path, "VMA count against pages touched", series, lines)


def faults_over_time(runs, path, bin_s=0.1):
    """Faults resolved per second over the run, in bins of bin_s."""
    runs = [r for r in runs if r.result["fault_t_ns"]]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    series = {}
    for r in runs:
        t0 = r.result["t_start_ns"]
        bins = {}
        for t in r.result["fault_t_ns"]:
            b = int(max(0, t - t0) / 1e9 / bin_s)
            bins[b] = bins.get(b, 0) + 1
        xs = range(max(bins) + 1)
        series[r.label] = ([x * bin_s for x in xs], [bins.get(x, 0) / bin_s for x in xs])
        ax.plot(*series[r.label], label=r.label)
    ax.set_xlabel("time since the first access (s)")
    ax.set_ylabel("faults resolved (faults/s)")
    return _save(fig, ax, path, "Faults over time", series)


def pages_per_s(runs, path):
    """Placement rate of each run."""
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    series = {"pages/s": ([r.label for r in runs], [r.result["pages_per_s"] for r in runs])}
    ax.bar(*series["pages/s"])
    ax.set_ylabel("pages placed per second (pages/s)")
    ax.set_xlabel("run (backend/variant)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _save(fig, ax, path, "Pages/s per backend", series)


def fault_phases(runs, path):
    """The median fault in phases (analysis.phases): trap, fetch, place and return, stacked, one bar per run."""
    by_run = {r.label: phases.of_run(r.result) for r in runs}
    by_run = {k: v for k, v in by_run.items() if v and v["phases"]}
    if not by_run:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    labels, bottom, series = list(by_run), [0.0] * len(by_run), {}
    for name in phases.PHASES:
        ys = [v["median_fault"][name] for v in by_run.values()]
        series[name] = (labels, ys)
        ax.bar(labels, ys, bottom=bottom, label=name)
        bottom = [b + y for b, y in zip(bottom, ys)]
    ax.set_ylabel("time in the median fault (us)")
    ax.set_xlabel("run (backend/variant)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _save(fig, ax, path, "The median fault in phases", series)


PLOTS = {"latency-cdf": latency_cdf, "vma-growth": vma_growth, "faults-over-time": faults_over_time,
         "pages-per-s": pages_per_s, "fault-phases": fault_phases}
