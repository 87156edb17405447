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
    """A pickle asked for a global that the safe unpickler does not admit, or used an admitted
    one the way only an attack does (``reason``); nothing from the file was executed."""

    def __init__(
        self, global_name: str | None = None, *, path: object = None, reason: str | None = None
    ):
        self.global_name = global_name
        if reason is None:
            message = (
                f"refused to load global '{global_name}': only plain containers, strings, "
                "numbers and numpy arrays are admitted in data pickles"
            )
        else:
            message = f"refused to load: {reason} (not something a data pickle holds)"
        super().__init__(message, path=path)


class PickleLimitError(UnsafePickleError):
    """A pickle exceeds a work bound of the safe unpickler (names the limit and its value)."""

    def __init__(self, what: str, *, limit: str, value: int, path: object = None):
        self.limit = limit
        self.value = value
        FormatError.__init__(
            self,
            f"refused to load: {what} than the limit {limit}={value}; a data pickle never "
            f"needs this (for a trusted file raise it: safe_load(path, {limit}=...))",
            path=path,
        )
        self.global_name = None


class ConfigError(InfoFusionError, ValueError):
    """An option, name or parameter value is invalid: names the option and the value."""


class OutputPathError(ConfigError):
    """An output location cannot be written (names the option and the path); raised before
    any work starts by :func:`infofusion.io_paths.check_writable`."""

    def __init__(self, message: str, *, path: object = None, what: str | None = None):
        self.path = None if path is None else str(path)
        self.what = what
        super().__init__(message)


class UnknownComponentError(ConfigError, KeyError):
    """A name given to the registry is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class MissingDependencyError(InfoFusionError, ImportError):
    """An optional dependency is missing: says what to install."""


class EstimationError(InfoFusionError, ValueError):
    """An estimator cannot run on the given input (too few samples, wrong shapes...)."""


class CheckpointError(FormatError):
    """A checkpoint or saved-model file cannot be read: empty, truncated, not written by
    infofusion, or holding objects other than tensors and plain containers (refused; nothing
    in the file was executed). Names the file."""


class CheckpointMismatchError(ConfigError):
    """A checkpoint belongs to another run (method, options, dataset, seed, training options
    or version): names the file and every difference.

    Attributes:
        path: the checkpoint.
        differences: ``{what: (saved, now)}``.
    """

    def __init__(self, message: str, *, path: object = None, differences: dict | None = None):
        self.path = None if path is None else str(path)
        self.differences = dict(differences or {})
        super().__init__(message)


class InfoFusionWarning(UserWarning):
    """Something the user should know about a run that is not an error (a ``--resume`` that
    found no checkpoint, a table of training-split metrics). The CLI prints it as one
    ``warning:`` line."""


class SolverAccuracyWarning(InfoFusionWarning):
    """An optimisation could not certify the requested tolerance; the result states the gap
    it did certify (and its ``status`` says so)."""
