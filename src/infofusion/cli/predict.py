"""``infofusion predict``: predictions of a saved model on a dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from infofusion.cli.options import parse_options

SPLITS = ("all", "train", "valid", "test")


def write_predictions(path: Path, out: dict, model: object, split_of: list[str] | None) -> None:
    """Write ``TrainedModel.outputs`` as ``.csv`` (one row per sample: id, split, prediction,
    target, class probabilities) or ``.npz`` (the same as arrays)."""
    import numpy as np

    pred = out["prediction"]
    classification = model.spec.task == "classification"  # type: ignore[attr-defined]
    cols: dict[str, np.ndarray] = {"id": np.asarray(out["ids"]).astype(str)}
    if split_of is not None:
        cols["split"] = np.asarray(split_of)
    if classification:
        import torch

        probs = torch.softmax(torch.from_numpy(pred), dim=1).numpy()
        labels = pred.argmax(axis=1)
        classes = model.classes  # type: ignore[attr-defined]
        cols["prediction"] = labels if classes is None else np.asarray(classes)[labels]
    else:
        cols["prediction"] = pred
    if out["y"] is not None:
        cols["target"] = out["y"]
    if path.suffix == ".npz":
        extra = {"probabilities": probs} if classification else {}
        np.savez(path, **cols, **extra)
        return
    import csv

    names = list(cols)
    if classification:
        names += [f"prob_{c}" for c in (model.classes or range(probs.shape[1]))]  # type: ignore[attr-defined]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for i in range(len(pred)):
            row = [cols[c][i] for c in cols]
            if classification:
                row += [f"{p:.6g}" for p in probs[i]]
            writer.writerow([f"{v:.6g}" if isinstance(v, float | np.floating) else v for v in row])


def register(app: typer.Typer) -> None:
    @app.command()
    def predict(
        model: Path = typer.Option(..., "--model", help="A model saved by `infofusion train` (<model-dir>/<run-id>/...pt)."),
        data: str = typer.Option(..., "--data", "-d", help="Dataset spec to predict on, e.g. generic:new.npz."),
        data_options: list[str] | None = typer.Option(None, "--data-set", help="Dataset loader option KEY=VALUE (repeatable)."),
        split: str = typer.Option("all", "--split", help="all, train, valid or test."),
        out: Path = typer.Option(..., "--out", help="Predictions file: .csv (one row per sample) or .npz."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
    ) -> None:
        """Predict with a saved model: class labels (with probabilities) or scores, one per sample.

        The data must have the model's modalities with the same feature sizes; they are
        standardised with the statistics of the model's training split.
        """
        from infofusion.errors import ConfigError, OutputPathError
        from infofusion.io_paths import check_writable

        if split not in SPLITS:
            raise ConfigError(f"--split {split!r}: choose one of {', '.join(SPLITS)}")
        if out.suffix not in (".csv", ".npz"):
            raise ConfigError(f"--out '{out}': predictions are written as .csv or .npz, got '{out.suffix or 'no suffix'}'")
        check_writable(out, "--out")
        if out.exists() and not overwrite:
            raise OutputPathError(f"--out: '{out}' exists; pass --overwrite to replace it", path=out, what="--out")
        from infofusion.data import load_dataset
        from infofusion.trained import load

        trained = load(model)
        dataset = load_dataset(data, **parse_options(data_options))
        outputs = trained.outputs(dataset, split)
        split_of = None
        if split == "all":
            names = ["" for _ in range(len(dataset))]
            for name, idx in dataset.splits.items():
                for i in idx.tolist():
                    names[i] = name
            split_of = [names[i] for i in outputs["index"]]
        write_predictions(out, outputs, trained, split_of)
        typer.echo(f"wrote {len(outputs['prediction'])} predictions ({split} of {data}) to {out}")
