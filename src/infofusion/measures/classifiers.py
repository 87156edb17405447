"""Probabilistic classifiers and modality features shared by the PID and pointwise measures.

The batch neural PID estimator (:mod:`infofusion.measures.pid.neural`) and the per-sample
composition (:mod:`infofusion.measures.pointwise.composition`) both train ``p(y | x)`` models on
one modality's features; both take the features and the classifier from here, so neither
imports the other. Training goes through the shared auxiliary loop
(:func:`infofusion.training.auxiliary.fit_auxiliary`) with early stopping on validation
cross-entropy.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def modality_features(ds: Any, name: str) -> np.ndarray:
    """``(N, D)`` float64 features of modality ``name``; a sequence is averaged over its valid
    steps (:meth:`MultimodalDataset.pooled`, which never reads the padding)."""
    import torch

    return ds.pooled(name, dtype=torch.float64).numpy()


def train_classifier(
    x: np.ndarray,
    y: np.ndarray,
    xv: np.ndarray | None,
    yv: np.ndarray | None,
    n_classes: int,
    *,
    hidden: int = 128,
    epochs: int = 30,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
    patience: int = 5,
    threads: int | None = 1,
) -> Any:
    """Two-hidden-layer MLP on minibatches, early-stopped on validation cross-entropy.

    Selecting on cross-entropy (not accuracy) keeps the probabilities usable for log-ratios.
    These models are tiny, so they train single-threaded by default (``threads=1``; the global
    torch setting is restored afterwards; ``None`` keeps it): intra-op threads only add
    synchronisation cost at this size, and a lot of it on a busy machine.

    Args:
        x, y: ``(N, D)`` features and ``(N,)`` labels of the training rows.
        xv, yv: validation rows (None: train for ``epochs`` passes, keep the last weights).
        n_classes: number of classes (outputs).
        epochs: passes over the training rows at most; validation after each pass.
        patience: passes without a better validation loss before stopping.

    Returns:
        The trained ``torch.nn.Module`` in eval mode (outputs logits).
    """
    import torch
    from torch import nn

    from infofusion.training.auxiliary import fit_auxiliary

    prev = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Linear(x.shape[1], hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_classes),
        ).to(device)
        xt = torch.as_tensor(x, dtype=torch.float32, device=device)
        yt = torch.as_tensor(y, dtype=torch.long, device=device)
        validate = None
        if xv is not None and yv is not None:
            xvt = torch.as_tensor(xv, dtype=torch.float32, device=device)
            yvt = torch.as_tensor(yv, dtype=torch.long, device=device)

            def validate() -> float:
                return float(nn.functional.cross_entropy(model(xvt), yvt))

        steps_per_epoch = max(1, -(-len(xt) // batch_size))
        fit_auxiliary(
            model,
            lambda idx: nn.functional.cross_entropy(model(xt[idx]), yt[idx]),
            len(xt),
            validate,
            batch_size=batch_size,
            max_steps=epochs * steps_per_epoch,
            eval_every=steps_per_epoch,
            patience=patience,
            lr=lr,
            weight_decay=1e-4,
            generator=torch.Generator().manual_seed(seed),
            higher_is_better=False,
            min_delta=1e-4,
            drop_last=False,
        )
        return model
    finally:
        torch.set_num_threads(prev)


def predict_proba(model: Any, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """``(N, C)`` float64 class probabilities of a classifier from :func:`train_classifier`."""
    import torch

    with torch.no_grad():
        logits = model(torch.as_tensor(x, dtype=torch.float32, device=device))
        return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)
