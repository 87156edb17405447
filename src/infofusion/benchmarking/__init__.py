"""Benchmark suites (profiles, TOML files) and the resumable runner behind ``infofusion bench``."""

from infofusion.benchmarking.suite import DataEntry, Suite, builtin_datasets, load_suite, split_list

__all__ = ["DataEntry", "Suite", "builtin_datasets", "load_suite", "split_list"]
