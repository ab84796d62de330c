"""Summary statistics the analysis shares, so that every table computes them alike."""
import statistics


def p99(values):
    """The 99th percentile, interpolated between the values (never beyond the largest)."""
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]
