"""What a benchmark runs: datasets (any loadable spec, with loader options), methods, seeds,
training budget and the optional robustness sweep -- from profiles or a TOML file.

Profiles:

* ``quick``: :data:`QUICK_DATASETS`, every registered method, 3 seeds (what the README runs;
  minutes on a laptop CPU).
* ``full``: every registered method x every built-in dataset (:func:`builtin_datasets`) x 5
  seeds.

Both train on the bench budget (:func:`infofusion.api.bench_config`: 40 epochs at most,
patience 8); ``[train]`` below, or the command's training options, replace it.

A TOML suite (read with the standard library's ``tomllib``)::

    profile = "quick"            # datasets and seeds to start from (quick | full)
    seeds = 3                    # a number of seeds (0..n-1) or a list [0, 1, 2]
    methods = ["joint", "late"]  # default: every registered method
    robustness = true            # noise / missing-modality sweep on every trained model

    [train]                      # TrainConfig fields replacing the bench budget
    epochs = 20

    [[data]]
    spec = "synthetic:synergy"
    name = "synergy-2k"          # name in tables (default: the spec)
    options = { n = 2000 }       # loader options

    [options.joint]              # extra options of one method
    hidden = 64

Every key is checked: an unknown key, a wrong type or an unknown method is a
:class:`~infofusion.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infofusion.errors import ConfigError

PROFILES = ("quick", "full")
#: Built-in datasets of the quick benchmark (what the README runs): pure synergy (XOR, where a
#: sum of per-modality outputs must fail), a per-sample mix of all four interaction types with
#: ground truth, and real two-view data. Every registered method runs on each, so the quick
#: profile stays at minutes however many methods are registered; the ``full`` profile covers
#: every built-in dataset.
QUICK_DATASETS: tuple[str, ...] = (
    "synthetic:synergy",
    "synthetic:mixed",
    "digits",
)
_TOP_KEYS = {"profile", "seeds", "methods", "robustness", "train", "data", "options"}
_DATA_KEYS = {"spec", "name", "options"}


@dataclass
class DataEntry:
    """One dataset of a suite: a loadable spec, its loader options and its name in tables."""

    spec: str
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.spec


@dataclass
class Suite:
    """A benchmark: datasets x methods x seeds under one training budget.

    Attributes:
        profile: the profile it starts from (``quick`` or ``full``).
        datasets: :class:`DataEntry` list.
        methods: registry names (None: every registered method).
        seeds: the seeds of every cell.
        train: TrainConfig fields replacing the bench budget.
        method_options: method -> extra constructor options.
        robustness: run the test-time robustness sweep on every trained model.
    """

    profile: str
    datasets: list[DataEntry]
    methods: list[str] | None
    seeds: list[int]
    train: dict[str, Any] = field(default_factory=dict)
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    robustness: bool = False


def split_list(values: Iterable[str] | None) -> list[str] | None:
    """Repeatable and comma-separated option values as one list (None when none given):
    ``["a,b", "c"] -> ["a", "b", "c"]``."""
    if values is None:
        return None
    out = [v.strip() for item in values for v in str(item).split(",") if v.strip()]
    return out or None


def builtin_datasets() -> list[str]:
    """Every built-in dataset spec: each synthetic task (interaction, imbalance and corruption
    tasks), ``digits`` and ``uci_mfeat``."""
    from infofusion.data.synthetic import CORRUPTED_TASKS, IMBALANCE_TASKS, TASKS

    tasks = [*TASKS, *IMBALANCE_TASKS, *CORRUPTED_TASKS]
    return [f"synthetic:{t}" for t in tasks] + ["digits", "uci_mfeat"]


def profile_defaults(profile: str) -> tuple[list[str], int]:
    """(datasets, number of seeds) of a profile."""
    if profile == "quick":
        return list(QUICK_DATASETS), 3
    if profile == "full":
        return builtin_datasets(), 5
    raise ConfigError(f"unknown bench profile {profile!r} (available: {', '.join(PROFILES)})")


def _type_error(where: str, key: str, want: str, got: Any) -> ConfigError:
    return ConfigError(f"{where}: '{key}' must be {want}, got {got!r}")


def suite_from_mapping(raw: Mapping[str, Any], where: str = "suite") -> Suite:
    """A :class:`Suite` from the parsed TOML table ``raw`` (``where`` names it in errors)."""
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    profile = raw.get("profile", "quick")
    if profile not in PROFILES:
        raise ConfigError(f"{where}: 'profile' must be one of {', '.join(PROFILES)}, got {profile!r}")
    default_data, default_seeds = profile_defaults(profile)
    seeds_raw = raw.get("seeds", default_seeds)
    if isinstance(seeds_raw, bool) or not isinstance(seeds_raw, (int, list)):
        raise _type_error(where, "seeds", "a number >= 1 or a list of seeds", seeds_raw)
    if isinstance(seeds_raw, int):
        if seeds_raw < 1:
            raise _type_error(where, "seeds", "a number >= 1 or a list of seeds", seeds_raw)
        seeds = list(range(seeds_raw))
    else:
        if not seeds_raw or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds_raw):
            raise _type_error(where, "seeds", "a non-empty list of integers >= 0", seeds_raw)
        seeds = list(seeds_raw)
    methods = raw.get("methods")
    if methods is not None and (not isinstance(methods, list) or not all(isinstance(m, str) for m in methods) or not methods):
        raise _type_error(where, "methods", "a non-empty list of method names", methods)
    if methods is not None:
        from infofusion.registry import get

        for m in methods:
            get("method", m)  # an unknown name is an UnknownComponentError listing the known ones
    robustness = raw.get("robustness", False)
    if not isinstance(robustness, bool):
        raise _type_error(where, "robustness", "true or false", robustness)
    train = raw.get("train", {})
    if not isinstance(train, dict):
        raise _type_error(where, "train", "a table of training options", train)
    from infofusion.training.config import TrainConfig

    fields = set(TrainConfig.__dataclass_fields__) - {"seed", "checkpoint_dir", "resume"}
    bad = sorted(set(train) - fields)
    if bad:
        raise ConfigError(f"{where}: [train] unknown option(s) {', '.join(bad)} (allowed: {', '.join(sorted(fields))})")
    datasets = []
    data_raw = raw.get("data")
    if data_raw is None:
        datasets = [DataEntry(s) for s in default_data]
    else:
        if not isinstance(data_raw, list) or not data_raw:
            raise _type_error(where, "data", "a non-empty array of [[data]] tables", data_raw)
        for i, entry in enumerate(data_raw):
            if isinstance(entry, str):
                entry = {"spec": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("spec"), str):
                raise ConfigError(f"{where}: data entry {i + 1} needs a 'spec' string, got {entry!r}")
            extra = sorted(set(entry) - _DATA_KEYS)
            if extra:
                raise ConfigError(f"{where}: data entry {i + 1} ('{entry['spec']}') has unknown key(s) "
                                  f"{', '.join(extra)} (allowed: {', '.join(sorted(_DATA_KEYS))})")
            opts = entry.get("options", {})
            if not isinstance(opts, dict):
                raise ConfigError(f"{where}: data entry {i + 1} ('{entry['spec']}'): 'options' must be a table")
            name = entry.get("name", "")
            if not isinstance(name, str):
                raise ConfigError(f"{where}: data entry {i + 1} ('{entry['spec']}'): 'name' must be a string")
            datasets.append(DataEntry(entry["spec"], dict(opts), name))
        names = [d.name for d in datasets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"{where}: data name(s) used twice: {', '.join(dup)} (give each a distinct 'name')")
    method_options = raw.get("options", {})
    if not isinstance(method_options, dict) or not all(isinstance(v, dict) for v in method_options.values()):
        raise _type_error(where, "options", "tables [options.<method>] of method options", method_options)
    return Suite(profile, datasets, methods, seeds, dict(train),
                 {k: dict(v) for k, v in method_options.items()}, robustness)


def load_suite(path: str | Path) -> Suite:
    """Read a TOML suite file (see the module docstring for its keys).

    Raises:
        ConfigError: the file is missing, not TOML, or holds an invalid key or value (named).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        raise ConfigError(f"reading the suite file '{path}' needs Python >= 3.11 (tomllib)") from None
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config: cannot read '{p}' ({exc.strerror or exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config: '{p}' is not valid TOML ({exc})") from None
    return suite_from_mapping(raw, where=f"--config '{p}'")


def make_suite(
    profile: str = "quick",
    methods: Sequence[str] | None = None,
    datasets: Sequence[str | DataEntry] | None = None,
    seeds: Sequence[int] | None = None,
    robustness: bool = False,
) -> Suite:
    """A suite from a profile, restricted by command-line style arguments (``seeds``: the
    list of seeds; default ``0 .. n-1`` with the profile's n)."""
    default_data, default_seeds = profile_defaults(profile)
    entries = [d if isinstance(d, DataEntry) else DataEntry(str(d)) for d in (datasets or default_data)]
    return Suite(profile, entries, list(methods) if methods else None,
                 list(range(default_seeds)) if seeds is None else list(seeds), robustness=robustness)
