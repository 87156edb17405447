"""Batch neural PID estimator for large continuous datasets.

Three small torch classifiers -- ``p(y|x1)``, ``p(y|x2)``, ``p(y|x1, x2)`` -- are trained on
minibatches of the training split. On held-out minibatches of ``B`` samples, each sample's
source is treated as its own outcome, giving a ``B x B x C`` problem: the fiber is fixed by the
unimodal predictions ``P(x1_i, y) = p(y|x1_i) / B`` and ``P(x2_j, y) = p(y|x2_j) / B`` (both
rescaled to a common label marginal by proportional fitting), and the exact BROJA solver gives
the union information ``min_Q I_Q(X1, X2; Y)``. The joint classifier supplies
``I(X1, X2; Y)``; the atoms follow from the consistency equations and are averaged over
batches (their spread is reported).

Limits: the estimate depends on the classifiers' calibration; a joint model that is *less*
informative than the fiber's optimum yields a negative synergy (reported, not clipped); the
batch size ``B`` bounds how finely ``Q`` can couple the two sources.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.pid._info import LN2
from infofusion.measures.pid.solver import solve_broja
from infofusion.registry import register


def _entropy_rows(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-300, None)
    return -(p * np.log(q)).sum(axis=1)


def _rake(p: np.ndarray, col: np.ndarray, iters: int = 100, floor: float = 1e-12) -> np.ndarray:
    """Rescale ``(B, C)`` conditionals so rows sum to 1/B and columns to ``col``."""
    t = np.clip(p, floor, None) / p.shape[0]
    t = t / t.sum(axis=1, keepdims=True) / p.shape[0]
    for _ in range(iters):
        t = t * (col / t.sum(axis=0))[None, :]
        t = t / t.sum(axis=1, keepdims=True) / p.shape[0]
        if np.abs(t.sum(axis=0) - col).max() < 1e-13:
            break
    return t


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
):
    """Two-hidden-layer MLP trained on minibatches with early stopping on validation *loss*.

    Selecting on cross-entropy (not accuracy) keeps the probabilities usable for log-ratios.
    These models are tiny, so they train single-threaded by default (``threads=1``; the global
    torch setting is restored afterwards; ``None`` keeps it): intra-op threads only add
    synchronisation cost at this size, and a lot of it on a busy machine.

    Args:
        x, y: ``(N, D)`` features and ``(N,)`` labels of the training rows.
        xv, yv: validation rows (None: train for ``epochs`` without selection).

    Returns:
        The trained ``torch.nn.Module`` in eval mode (outputs logits).
    """
    import torch

    prev = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train_mlp(x, y, xv, yv, n_classes, hidden, epochs, batch_size, lr, seed, device, patience)
    finally:
        torch.set_num_threads(prev)


def _train_mlp(x, y, xv, yv, n_classes, hidden, epochs, batch_size, lr, seed, device, patience):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(x.shape[1], hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, n_classes),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.long, device=device)
    best, best_state, waited = np.inf, None, 0
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for s in range(0, len(xt), batch_size):
            idx = perm[s : s + batch_size]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if xv is not None:
            model.eval()
            with torch.no_grad():
                vl = float(nn.functional.cross_entropy(
                    model(torch.as_tensor(xv, dtype=torch.float32, device=device)),
                    torch.as_tensor(yv, dtype=torch.long, device=device),
                ))
            if vl < best - 1e-4:
                best, waited = vl, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
                if waited >= patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model


@register("pid", "batch")
class BatchNeuralPID:
    """Batch neural estimator: minibatch-trained classifiers + exact BROJA on held-out batches."""

    name = "batch"

    def __init__(
        self,
        hidden: int = 128,
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 1e-3,
        eval_batch: int = 64,
        n_eval_batches: int = 20,
        seed: int = 0,
        device: str = "cpu",
        check: bool = False,
    ) -> None:
        self.hidden, self.epochs, self.batch_size, self.lr = hidden, epochs, batch_size, lr
        self.eval_batch, self.n_eval_batches = eval_batch, n_eval_batches
        self.seed, self.device = seed, device

    def parameters(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden, "epochs": self.epochs, "batch_size": self.batch_size,
            "lr": self.lr, "eval_batch": self.eval_batch, "n_eval_batches": self.n_eval_batches,
            "seed": self.seed,
        }

    def _train(self, x, y, xv, yv, n_classes):
        return train_classifier(
            x, y, xv, yv, n_classes, hidden=self.hidden, epochs=self.epochs,
            batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=self.device,
        )

    def estimate(
        self, dataset: Any, modalities: tuple[str, str] | None = None, eval_split: str | None = None
    ) -> dict[str, Any]:
        """Atoms (bits) of a classification dataset, averaged over held-out batches.

        Returns:
            ``{"R", "U1", "U2", "S", "I1", "I2", "I12"}`` means, ``"std"`` per atom over
            batches, ``"n_batches"``, ``"max_gap"`` (largest certified solver gap, bits),
            ``"params"`` and ``"seconds"``.
        """
        import torch

        from infofusion.measures.pointwise.composition import _features

        start = time.perf_counter()
        if dataset.task != "classification":
            raise ConfigError("the batch neural PID estimator needs a classification target")
        names = tuple(modalities or dataset.names[:2])
        splits = dataset.splits
        eval_split = eval_split or next((s for s in ("test", "valid") if s in splits), "train")
        tr = splits["train"].numpy()
        va = splits["valid"].numpy() if "valid" in splits and eval_split != "valid" else None
        ev = dataset.indices(eval_split).numpy()
        y = dataset.target.numpy()
        c = dataset.n_classes
        feats = [_features(dataset, m) for m in names]
        mean = [f[tr].mean(0) for f in feats]
        std = [np.where(f[tr].std(0) > 1e-8, f[tr].std(0), 1.0) for f in feats]
        feats = [(f - m) / s for f, m, s in zip(feats, mean, std, strict=True)]
        inputs = [feats[0], feats[1], np.concatenate(feats, axis=1)]
        probs = []
        for x in inputs:
            model = self._train(
                x[tr], y[tr], None if va is None else x[va], None if va is None else y[va], c
            )
            with torch.no_grad():
                logits = model(torch.as_tensor(x[ev], dtype=torch.float32, device=self.device))
                probs.append(torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64))
        rng = np.random.default_rng(self.seed)
        b = min(self.eval_batch, len(ev))
        if b < 2:
            raise EstimationError("the evaluation split has fewer than 2 samples")
        rows = []
        gaps = []
        for _ in range(self.n_eval_batches):
            idx = rng.choice(len(ev), b, replace=False)
            p1, p2, p12 = (p[idx] for p in probs)
            pi = 0.5 * (p1.mean(0) + p2.mean(0))
            for floor in (1e-12, 1e-4):
                t1, t2 = _rake(p1, pi, floor=floor), _rake(p2, pi, floor=floor)  # (B, C) tables
                joint = t1[:, None, :] * t2[None, :, :] / pi[None, None, :]
                sol = solve_broja(joint / joint.sum())
                # near-one-hot predictions make the fiber badly scaled; flooring them at 1e-4
                # (a change of ~1e-3 bits) restores a tight certificate
                if sol.gap <= 1e-6:
                    break
            hy = float(-(pi * np.log(pi)).sum())
            h1 = float((b * t1 * -np.log(np.clip(b * t1, 1e-300, None))).sum() / b)
            h2 = float((b * t2 * -np.log(np.clip(b * t2, 1e-300, None))).sum() / b)
            h12 = float(_entropy_rows(p12).mean())
            i1, i2, i12 = hy - h1, hy - h2, hy - h12
            u1 = h2 + sol.value
            u2 = h1 + sol.value
            r = i1 - u1
            s = i12 - r - u1 - u2
            rows.append(np.array([r, u1, u2, s, i1, i2, i12]) / LN2)
            gaps.append(sol.gap / LN2)
        arr = np.array(rows)
        keys = ("R", "U1", "U2", "S", "I1", "I2", "I12")
        out: dict[str, Any] = {k: float(arr[:, i].mean()) for i, k in enumerate(keys)}
        out["std"] = {k: float(arr[:, i].std(ddof=1)) if len(arr) > 1 else 0.0 for i, k in enumerate(keys[:4])}
        out.update(
            n_batches=len(rows), batch=b, max_gap=float(max(gaps)), modalities=list(names),
            eval_split=eval_split, params=self.parameters(), seconds=time.perf_counter() - start,
        )
        return out
