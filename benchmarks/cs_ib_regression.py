"""CS-IB against MSE and a variational IB on regression tasks: test RMSE, mean ± std over seeds.

Objectives, all on the same encoder t = f(x) (MLP d -> 128 -> 128 -> 32, ReLU) and decoder
y_hat = g(t) (32 -> 128 -> 1):

* ``mse``: mean squared error.
* ``vib``: variational information bottleneck (Alemi et al.): a Gaussian encoder q(t|x) (mean
  and log-variance heads), loss = MSE of the decoder on a sample of t + beta KL(q(t|x) || N(0, I))
  with beta = 1e-3; predictions from the mean.
* ``cs_ib``: the Cauchy–Schwarz IB of Yu et al. (``infofusion.functional.cauchy_schwarz``):
  D_CS(p(y|x); q(y_hat|x)) + beta I_CS(x; t) (normalised), beta = 0.01, deterministic t.
* ``cs_div``: the same with beta = 0 (only the CS prediction term).

Tasks: ``diabetes`` (scikit-learn's built-in 442-sample dataset) and ``friedman`` (scikit-learn's
generated Friedman #1 task, 2000 samples, noise 1). Splits 60/20/20 per seed; inputs and target
standardised with training statistics; Adam 1e-3, batch 128, at most 200 epochs, the epoch with
the best validation RMSE is kept (patience 25); RMSE on the test split, in the target's units.

``--library`` also trains the library's ``joint`` fusion method on Friedman with its features
split into two modalities, with ``regression_loss="mse"`` and ``"cs_ib"``: the CS-IB objective as
a task-loss option any method can switch on.

Run: ``.venv/bin/python benchmarks/cs_ib_regression.py`` (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

OBJECTIVES = ("mse", "vib", "cs_ib", "cs_div")


def load_task(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes, make_friedman1

    if name == "diabetes":
        return load_diabetes(return_X_y=True)
    if name == "friedman":
        return make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=1000 + seed)
    raise SystemExit(f"unknown task {name!r} (diabetes, friedman)")


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return perm[:a], perm[a:b], perm[b:]


class Net(nn.Module):
    def __init__(self, d: int, stochastic: bool, width: int = 128, k: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(d, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU()
        )
        self.mean = nn.Linear(width, k)
        self.logvar = nn.Linear(width, k) if stochastic else None
        self.dec = nn.Sequential(nn.Linear(k, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, sample: bool = False):  # type: ignore[no-untyped-def]
        h = self.body(x)
        mu = self.mean(h)
        if self.logvar is None:
            return mu, self.dec(mu).squeeze(-1), None
        logvar = self.logvar(h).clamp(-10, 5)
        t = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(-1).mean()
        return t, self.dec(t).squeeze(-1), kl


def run(objective: str, x: np.ndarray, y: np.ndarray, seed: int, epochs: int) -> float:
    from infofusion.functional.cauchy_schwarz import cs_ib_loss

    tr, va, te = split(len(y), seed)
    mx, sx = x[tr].mean(0), x[tr].std(0) + 1e-12
    my, sy = y[tr].mean(), y[tr].std()
    xs = torch.tensor((x - mx) / sx, dtype=torch.float32)
    ys = torch.tensor((y - my) / sy, dtype=torch.float32)
    torch.manual_seed(seed)
    net = Net(x.shape[1], stochastic=objective == "vib")
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, since = np.inf, None, 0
    xtr, ytr = xs[tr], ys[tr]
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(tr), generator=gen)
        for i in range(0, len(tr), 128):
            idx = perm[i : i + 128]
            if len(idx) < 8:  # kernel estimates need a few samples
                continue
            t, pred, kl = net(xtr[idx], sample=True)
            if objective == "mse":
                loss = ((pred - ytr[idx]) ** 2).mean()
            elif objective == "vib":
                loss = ((pred - ytr[idx]) ** 2).mean() + 1e-3 * kl
            else:
                beta = 0.01 if objective == "cs_ib" else 0.0
                loss, _ = cs_ib_loss(xtr[idx], t, ytr[idx], pred, beta=beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            rmse = float(((net(xs[va])[1] - ys[va]) ** 2).mean().sqrt())
        if rmse < best - 1e-5:
            best, since = rmse, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            since += 1
            if since >= 25:
                break
    net.load_state_dict(best_state)
    net.eval()
    with torch.no_grad():
        pred = net(xs[te])[1].numpy() * sy + my
    return float(np.sqrt(np.mean((pred - y[te]) ** 2)))


def run_library(loss: str, seed: int, epochs: int) -> float:
    from infofusion.data.dataset import MultimodalDataset
    from infofusion.training.trainer import TrainConfig, fit

    x, y = load_task("friedman", seed)
    tr, va, te = split(len(y), seed)
    splits = np.empty(len(y), dtype=object)
    splits[tr], splits[va], splits[te] = "train", "valid", "test"
    data = MultimodalDataset(
        {"m1": x[:, :5].astype(np.float32), "m2": x[:, 5:].astype(np.float32)},
        y.astype(np.float32),
        task="regression",
        splits=splits.astype(str),
    )
    cfg = TrainConfig(
        epochs=epochs, patience=25, progress=False, seed=seed, batch_size=128, metric="RMSE"
    )
    opts = {"regression_loss": loss} if loss != "mse" else {}
    res = fit("joint", data, cfg, dropout=0.0, **opts)
    return float(res.metrics["test/RMSE"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--tasks", nargs="*", default=["diabetes", "friedman"])
    ap.add_argument("--objectives", nargs="*", default=list(OBJECTIVES))
    ap.add_argument("--library", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--out", type=Path, default=Path("results/cs_ib_regression.jsonl"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, str], list[float]] = {}
    with args.out.open("a") as fh:
        for task in args.tasks:
            for seed in range(args.seeds):
                x, y = load_task(task, seed)
                for obj in args.objectives:  # interleaved: every objective sees the same split
                    t0 = time.perf_counter()
                    rmse = run(obj, x, y, seed, args.epochs)
                    results.setdefault((task, obj), []).append(rmse)
                    rec = {"task": task, "objective": obj, "seed": seed, "rmse": rmse}
                    rec["seconds"] = time.perf_counter() - t0
                    fh.write(json.dumps(rec) + "\n")
                    print(
                        f"{task:9s} seed {seed} {obj:7s} RMSE {rmse:.4f} ({rec['seconds']:.1f} s)",
                        flush=True,
                    )
        if args.library:
            for seed in range(args.seeds):
                for loss in ("mse", "cs_ib"):
                    rmse = run_library(loss, seed, args.epochs)
                    results.setdefault(("friedman", f"joint+{loss}"), []).append(rmse)
                    fh.write(
                        json.dumps(
                            {
                                "task": "friedman",
                                "objective": f"joint+{loss}",
                                "seed": seed,
                                "rmse": rmse,
                            }
                        )
                        + "\n"
                    )
                    print(f"friedman  seed {seed} joint+{loss:6s} RMSE {rmse:.4f}", flush=True)
    print(f"\ntest RMSE, mean ± std over {args.seeds} seeds (target units)")
    print(f"{'task':10s} {'objective':12s} {'RMSE':>16s}")
    for (task, obj), vals in results.items():
        print(
            f"{task:10s} {obj:12s} {np.mean(vals):8.4f} ± {np.std(vals, ddof=1) if len(vals) > 1 else 0:.4f}"
        )


if __name__ == "__main__":
    main()
