"""Recorded workloads: what a real program first-touched, for replay by the engine (README.md)."""
