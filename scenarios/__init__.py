"""Scenarios: YAML-described experiments, checked against scenarios.schema."""
