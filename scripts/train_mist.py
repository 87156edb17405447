"""Train the learned MI estimator ``mist`` on synthetic tasks with known MI, made on the fly.

Every step draws ``--batch`` fresh tasks from the meta-distribution
(:mod:`infofusion.measures.mi.mist_data`), one row count ``n`` per step (uniform on
``[--n-min, --n-max]``), samples them, normalises the columns and fits the quantile head with the
pinball loss at ``--taus`` random levels per dataset. A fixed validation meta-set (its own seed,
row counts mixed within a batch, so padding is exercised) is scored every ``--eval-every``
steps; the best weights are kept, and written at every check (a run stopped early leaves them).
Batches are made in a separate process (``--worker 1``, the default) while the model trains,
from the same seeded stream as in line (``--worker 0``); the CPU time budget counts both
processes.

Writes ``<out>/<name>.pt`` (a plain state dict plus the architecture, loadable with
``torch.load(..., weights_only=True)``) and ``<out>/<name>.json``: the arguments, seed, versions,
steps, CPU and wall time, the validation curve and the final validation loss.

    .venv/bin/python scripts/train_mist.py --steps 18000 --cpu-minutes 58   # the shipped one
    .venv/bin/python scripts/train_mist.py --steps 200 --out /tmp/mist       # a quick try

Single-threaded by default (``--threads``): the machine it was made on is shared.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from infofusion.measures.mi.mist_data import MetaConfig, random_dataset
from infofusion.measures.mi.mist_model import MISTConfig, MISTNet, pack, pinball_loss
from infofusion.training.auxiliary import EarlyStopping

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/infofusion/measures/mi/weights"
VAL_TAUS = torch.tensor([0.025, *np.round(np.arange(0.05, 0.951, 0.05), 2).tolist(), 0.975])


def make_batch(
    rng: np.random.Generator, meta: MetaConfig, arch: MISTConfig, size: int, n: int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``size`` fresh datasets (``n`` rows each, or mixed when None), packed, and their MI.

    X and Y swap places with probability 1/2 (MI is symmetric); columns come permuted from the
    generator already.
    """
    pairs, mis = [], []
    for _ in range(size):
        x, y, spec = random_dataset(rng, meta, n=n)
        pairs.append((y, x) if rng.random() < 0.5 else (x, y))
        mis.append(spec.mi)
    rows, row_mask, col_mask = pack(pairs, arch.d_max, arch.normalize)
    return rows, row_mask, col_mask, torch.tensor(mis, dtype=torch.float32)


class BatchStream(torch.utils.data.IterableDataset):
    """Endless training batches, one row count per batch, from one seeded stream.

    Each item also carries the CPU seconds its making took, so that the CPU time of a data
    worker process is counted in the budget.
    """

    def __init__(self, meta: MetaConfig, arch: MISTConfig, batch: int, seed: int) -> None:
        self.meta, self.arch, self.batch, self.seed = meta, arch, batch, seed

    def __iter__(self):
        if torch.utils.data.get_worker_info() is not None:
            torch.set_num_threads(1)  # the worker only makes data
        rng = np.random.default_rng([self.seed, 0])
        while True:
            t0 = time.process_time()
            n = int(rng.integers(self.meta.n_min, self.meta.n_max + 1))
            batch = make_batch(rng, self.meta, self.arch, self.batch, n)
            yield (*batch, time.process_time() - t0)


@torch.no_grad()
def validate(net: MISTNet, val: list) -> dict[str, float]:
    """Pinball loss over :data:`VAL_TAUS`, MAE of the median, 90 % and 95 % coverage."""
    net.eval()
    losses, errs, cov90, cov95 = [], [], [], []
    for rows, row_mask, col_mask, target in val:
        med, w = net(rows, row_mask, col_mask)
        q = net.quantiles(med, w, VAL_TAUS)
        losses.append(float(pinball_loss(q, target, VAL_TAUS)) * len(target))
        errs.append((med - target).abs())
        i05, i95 = 1, len(VAL_TAUS) - 2
        cov90.append((q[:, i05] <= target) & (target <= q[:, i95]))
        cov95.append((q[:, 0] <= target) & (target <= q[:, -1]))
    total = sum(len(v[3]) for v in val)
    net.train()
    return {
        "pinball": sum(losses) / total,
        "mae": float(torch.cat(errs).mean()),
        "coverage90": float(torch.cat(cov90).float().mean()),
        "coverage95": float(torch.cat(cov95).float().mean()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--name", default="mist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=18000)
    ap.add_argument("--cpu-minutes", type=float, default=58.0, help="stop after this CPU time")
    ap.add_argument(
        "--wall-minutes", type=float, default=None, help="also stop after this wall time"
    )
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--taus", type=int, default=16, help="random quantile levels per dataset")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--val-size", type=int, default=1024)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the model")
    ap.add_argument(
        "--worker",
        type=int,
        default=1,
        choices=[0, 1],
        help="make the batches in a separate process (1) or in line (0); same batches either way",
    )
    ap.add_argument("--normalize", default="copula", choices=["copula", "standard"])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--inducing", type=int, default=16)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--no-products", action="store_true", help="row features without products")
    ap.add_argument(
        "--no-canonical", action="store_true", help="head without the canonical correlations"
    )
    ap.add_argument("--n-min", type=int, default=32)
    ap.add_argument("--n-max", type=int, default=256)
    ap.add_argument("--d-max", type=int, default=8)
    ap.add_argument("--mi-max", type=float, default=2.5)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    meta = MetaConfig(n_min=args.n_min, n_max=args.n_max, d_max=args.d_max, mi_max=args.mi_max)
    arch = MISTConfig(
        d_max=args.d_max,
        n_min=args.n_min,
        n_max=args.n_max,
        width=args.width,
        heads=args.heads,
        inducing=args.inducing,
        blocks=args.blocks,
        seeds=args.seeds,
        hidden=args.hidden,
        products=not args.no_products,
        canonical=not args.no_canonical,
        normalize=args.normalize,
    )
    net = MISTNet(arch)
    args.out.mkdir(parents=True, exist_ok=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: (
            min(1.0, (s + 1) / args.warmup)
            * 0.5
            * (1 + math.cos(math.pi * min(s, args.steps) / args.steps))
        ),
    )
    val_rng = np.random.default_rng([args.seed, 1])
    val = [make_batch(val_rng, meta, arch, 64, None) for _ in range(max(1, args.val_size // 64))]
    stream = torch.utils.data.DataLoader(
        BatchStream(meta, arch, args.batch, args.seed),
        batch_size=None,
        num_workers=args.worker,
        prefetch_factor=4 if args.worker else None,
    )

    best = EarlyStopping(patience=0, higher_is_better=False)
    curve: list[dict] = []
    cpu0, wall0, worker_cpu = time.process_time(), time.perf_counter(), 0.0
    running, step, stopped = 0.0, 0, "steps"

    def cpu_seconds() -> float:  # this process, all threads, plus the data worker's batches
        return time.process_time() - cpu0 + (worker_cpu if args.worker else 0.0)

    batches = iter(stream)
    for step in range(1, args.steps + 1):
        rows, row_mask, col_mask, target, made_in = next(batches)
        worker_cpu += made_in
        med, w = net(rows, row_mask, col_mask)
        tau = torch.rand(args.batch, args.taus).clamp(0.005, 0.995)
        loss = pinball_loss(net.quantiles(med, w, tau), target, tau)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), args.clip)
        opt.step()
        sched.step()
        running += float(loss.detach())
        out_of_time = cpu_seconds() > 60 * args.cpu_minutes or (
            args.wall_minutes is not None and time.perf_counter() - wall0 > 60 * args.wall_minutes
        )
        if step % args.eval_every == 0 or step == args.steps or out_of_time:
            score = validate(net, val)
            point = {
                "step": step,
                "train_pinball": running / (step - (curve[-1]["step"] if curve else 0)),
                **{f"val_{k}": v for k, v in score.items()},
                "cpu_s": round(cpu_seconds(), 1),
                "wall_s": round(time.perf_counter() - wall0, 1),
                "lr": sched.get_last_lr()[0],
            }
            curve.append(point)
            running = 0.0
            if out_of_time:
                stopped = "time budget"
            print(json.dumps(point), flush=True)
            # save at every check, so that a run stopped early leaves its best weights
            if best.update(score["pinball"], step):
                _save(
                    args.out / f"{args.name}.pt",
                    {"config": arch.to_dict(), "state_dict": net.state_dict()},
                )
            record = {
                "command": " ".join(
                    [Path(sys.argv[0]).name, *(sys.argv[1:] if argv is None else argv)]
                ),
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "seed": args.seed,
                "versions": {
                    "torch": torch.__version__,
                    "numpy": np.__version__,
                    "python": platform.python_version(),
                },
                "config": arch.to_dict(),
                "meta": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(meta).items()},
                "parameters": sum(p.numel() for p in net.parameters()),
                "steps": step,
                "stopped_by": stopped if (out_of_time or step == args.steps) else "running",
                "datasets_seen": step * args.batch,
                "cpu_seconds": point["cpu_s"],
                "wall_seconds": point["wall_s"],
                "best_step": best.best_step,
                "final_validation": point,
                "best_validation_pinball": best.best,
                "curve": curve,
            }
            tmp = args.out / f"{args.name}.json.tmp"
            tmp.write_text(json.dumps(record, indent=1) + "\n")
            tmp.replace(args.out / f"{args.name}.json")
        if out_of_time:
            break
    print(
        f"saved {args.out / (args.name + '.pt')}: step {best.best_step} of {step}, "
        f"validation pinball {best.best:.4f}, {cpu_seconds():.0f} CPU s"
    )


def _save(path: Path, blob: dict) -> None:
    """Write ``blob`` with torch.save through a temporary file (no half-written checkpoint)."""
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


if __name__ == "__main__":
    main()
