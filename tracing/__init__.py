"""BCC probes on page faults, gup, VMA life, fault_area.ko and userfaultfd."""
