"""Recorded workloads: what a real program first-touched, for replay by the engine (README.md)."""
from workloads.fawl import WorkloadError, find
from workloads.recipes import RECIPES


def check_name(name):
    """A workload that can be replayed: recorded (workloads/ or results/workloads/), or with a recipe that
    `make run` records; WorkloadError naming the known ones otherwise."""
    if name in RECIPES:
        return
    find(name)


__all__ = ["WorkloadError", "check_name", "find", "RECIPES"]
