"""fault-area lab harness: the guest-VM runner (boot once, run steps), its accelerator choice,
the guest-side module helpers, the ioctl ABI (uapi), kernel log checks and results provenance."""
