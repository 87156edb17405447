"""Typed errors. Every error names what is wrong: the modality, file, key or value."""

from __future__ import annotations


class InfoFusionError(Exception):
    """Base class of every error raised on purpose by infofusion."""


class DataValidationError(InfoFusionError, ValueError):
    """A dataset violates the container's contract.

    Attributes:
        modality: the modality concerned (``None`` when the problem is the target or splits).
        problem: a short machine-readable tag (``"nan"``, ``"count_mismatch"``, ...).
    """

    def __init__(self, message: str, *, modality: str | None = None, problem: str = "invalid"):
        self.modality = modality
        self.problem = problem
        prefix = f"modality '{modality}': " if modality is not None else ""
        super().__init__(prefix + message)


class FormatError(InfoFusionError, ValueError):
    """A dataset file is malformed: names the file and (where known) the key."""

    def __init__(self, message: str, *, path: object = None, key: str | None = None):
        self.path = None if path is None else str(path)
        self.key = key
        where = []
        if path is not None:
            where.append(f"file '{path}'")
        if key is not None:
            where.append(f"key '{key}'")
        super().__init__((", ".join(where) + ": " if where else "") + message)


class UnsafePickleError(FormatError):
    """A pickle asked for a global that the safe unpickler does not admit."""

    def __init__(self, global_name: str, *, path: object = None):
        self.global_name = global_name
        super().__init__(
            f"refused to load global '{global_name}': only plain containers, strings, numbers "
            "and numpy arrays are admitted in data pickles",
            path=path,
        )


class ConfigError(InfoFusionError, ValueError):
    """An option, name or parameter value is invalid: names the option and the value."""


class UnknownComponentError(ConfigError, KeyError):
    """A name given to the registry is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class MissingDependencyError(InfoFusionError, ImportError):
    """An optional dependency is missing: says what to install."""


class EstimationError(InfoFusionError, ValueError):
    """An estimator cannot run on the given input (too few samples, wrong shapes...)."""


class SolverAccuracyWarning(UserWarning):
    """An optimisation could not certify the requested tolerance; the result states the gap
    it did certify (and its ``status`` says so)."""
