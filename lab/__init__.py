"""fault-area lab harness: setup helpers and the guest-VM runner."""
