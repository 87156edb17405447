"""Pure tensor math: MI bounds (``mi``), entropies, PID solvers, metrics. No state, no training."""
