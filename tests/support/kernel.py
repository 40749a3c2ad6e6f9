"""A Jupyter kernel client through the hub's proxy: the harness's (harness/kernel.py), shared with the benchmarks."""

from harness.kernel import Execution, KernelSession

__all__ = ["Execution", "KernelSession"]
