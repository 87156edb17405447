"""Training jobs run as subprocesses by the resume and distributed tests.

Usage: python resume_job.py OUT.json [--methods joint,weighted,ogm,staged] [--ckpt DIR] [--resume]
       [--sleep S] [--epochs N] [--dropout P]
Trains each method in turn (toy methods from ``toy_methods.py``) and writes, per method, the
final metrics, checksums of the weights, the epoch losses and method-specific facts to OUT.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infofusion.methods.joint import JointFusion  # noqa: E402
from infofusion.training import TrainConfig, fit  # noqa: E402
from infofusion.training.distributed import init_if_launched, is_main_process  # noqa: E402
from tests.helpers import xor_dataset  # noqa: E402
from tests.training.toy_methods import (  # noqa: E402
    OGMToy,
    StagedToy,
    WeightedJoint,
    changed_groups,
    dominant_dataset,
)


def run(name: str, a: argparse.Namespace) -> dict[str, Any]:
    data = dominant_dataset(seed=3) if name == "ogm" else xor_dataset(n=640, seed=3)
    ckpt = None if a.ckpt is None else str(Path(a.ckpt) / name)
    cfg = TrainConfig(epochs=a.epochs, batch_size=64, lr=3e-3, patience=a.patience, seed=7,
                      checkpoint_dir=ckpt, resume=a.resume, progress=False)
    torch.manual_seed(0)
    spec = data.standardize().spec
    kw = dict(hidden=32, embed_dim=16, dropout=a.dropout)
    WeightedJoint.sleep = a.sleep
    method = {
        "joint": lambda: JointFusion(spec, **kw),
        "weighted": lambda: WeightedJoint(spec, **kw),
        "ogm": lambda: OGMToy(spec, **kw),
        "staged": lambda: StagedToy(spec, perturb_rank=1, **kw),
    }[name]()
    res = fit(method, data, cfg)
    weights = torch.cat([p.detach().flatten() for p in res.method.parameters()])
    out: dict[str, Any] = {
        "metrics": res.metrics, "best_epoch": res.best_epoch,
        "weights_sum": float(weights.double().sum()), "weights_abs": float(weights.double().abs().sum()),
        "history_loss": [h["loss"] for h in res.history], "weights": weights.tolist(),
        "stages": [dataclasses.asdict(s) for s in res.stages],
    }
    if name == "weighted":
        out["state"] = res.method.sample_state("weight").tolist()
    if name == "ogm":
        out["coefficients"] = res.method.coefficients
    if name == "staged":
        res.method.snapshot("end")
        keys = [s.name for s in res.method.stages()] + ["end"]
        snaps = res.method.snapshots
        out["changed"] = {k: changed_groups(snaps[k], snaps[nxt]) for k, nxt in zip(keys, keys[1:], strict=False)}
        out["history"] = [{k: v for k, v in h.items() if k == "stage" or k.startswith("valid/")} for h in res.history]
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--methods", default="weighted")
    p.add_argument("--ckpt", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    init_if_launched()
    results = {name: run(name, a) for name in a.methods.split(",")}
    if is_main_process():
        Path(a.out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
