"""The migration engine: a page source process and a post-copy destination
with the fault-handling backends of engine.config.BACKENDS, in C (engine/c)
driven through cffi."""
from engine.config import (AFTER, BACKENDS, KERNEL_STEPS, PATTERNS, ConfigError, KernelStep, RunConfig,
                           validate)
from engine.run import KernelStepResult, RunResult, run

__all__ = ["AFTER", "BACKENDS", "KERNEL_STEPS", "PATTERNS", "ConfigError", "KernelStep", "KernelStepResult",
           "RunConfig", "RunResult", "run", "validate"]
