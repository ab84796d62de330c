"""Analysis of scenario results: invariants, figures, plots and reports."""
