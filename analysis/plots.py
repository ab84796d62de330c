"""The report's plots, PNG, units on every axis; one function per plot, each
taking the loaded runs and a path, and returning the path or None when the
runs hold nothing to plot."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)


def _save(fig, ax, path, title):
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def latency_cdf(runs, path):
    """Per-fault end-to-end latency (first touch to return), CDF per run."""
    runs = [r for r in runs if r.result["e2e_ns"]]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        xs = sorted(v / 1000 for v in r.result["e2e_ns"])
        ax.plot(xs, [(i + 1) / len(xs) for i in range(len(xs))], label=r.label)
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end fault latency (us, log scale)")
    ax.set_ylabel("fraction of first touches (1)")
    return _save(fig, ax, path, "Per-fault latency CDF")


def vma_growth(runs, path):
    """VMAs of the process against pages placed, sampled during each run."""
    runs = [r for r in runs if len(r.vma_series) > 1]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        ax.plot([s[1] for s in r.vma_series], [s[2] for s in r.vma_series], marker=".", label=r.label)
    limit = runs[0].extra.get("max_map_count")
    if limit:
        ax.axhline(limit, color="red", linestyle="--", label=f"vm.max_map_count ({limit})")
    ax.set_xlabel("pages placed (pages)")
    ax.set_ylabel("VMAs of the process (VMAs)")
    return _save(fig, ax, path, "VMA count against pages touched")


def faults_over_time(runs, path, bin_s=0.1):
    """Faults resolved per second over the run, in bins of bin_s."""
    runs = [r for r in runs if r.result["fault_t_ns"]]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        t0 = r.result["t_start_ns"]
        bins = {}
        for t in r.result["fault_t_ns"]:
            b = int(max(0, t - t0) / 1e9 / bin_s)
            bins[b] = bins.get(b, 0) + 1
        xs = range(max(bins) + 1)
        ax.plot([x * bin_s for x in xs], [bins.get(x, 0) / bin_s for x in xs], label=r.label)
    ax.set_xlabel("time since the first access (s)")
    ax.set_ylabel("faults resolved (faults/s)")
    return _save(fig, ax, path, "Faults over time")


def pages_per_s(runs, path):
    """Placement rate of each run."""
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar([r.label for r in runs], [r.result["pages_per_s"] for r in runs])
    ax.set_ylabel("pages placed per second (pages/s)")
    ax.set_xlabel("run (backend/variant)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _save(fig, ax, path, "Pages/s per backend")


PLOTS = {"latency-cdf": latency_cdf, "vma-growth": vma_growth, "faults-over-time": faults_over_time,
         "pages-per-s": pages_per_s}
