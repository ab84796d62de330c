"""The migration engine: a page source process and a post-copy destination
with five fault-handling backends, in C (engine/c) driven through cffi."""
from engine.run import (BACKENDS, KERNEL_STEPS, PATTERNS, KernelStep, KernelStepResult, RunResult,
                        SourceSpec, run)

__all__ = ["BACKENDS", "KERNEL_STEPS", "PATTERNS", "KernelStep", "KernelStepResult", "RunResult",
           "SourceSpec", "run"]
