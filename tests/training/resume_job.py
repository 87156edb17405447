"""A training job run as a subprocess by the resume and distributed tests.

Usage: python resume_job.py OUT.json [--ckpt DIR] [--resume] [--sleep S] [--epochs N]
Writes the final metrics and a checksum of the weights to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infofusion.methods.joint import JointFusion  # noqa: E402
from infofusion.training import TrainConfig, fit  # noqa: E402
from infofusion.training.distributed import init_if_launched, is_main_process  # noqa: E402
from tests.helpers import xor_dataset  # noqa: E402


class SlowJoint(JointFusion):
    """Joint fusion that sleeps after each epoch, so a kill lands mid-run."""

    sleep = 0.0

    def on_epoch_end(self, epoch, trainer):
        time.sleep(self.sleep)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--ckpt", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    init_if_launched()
    data = xor_dataset(n=640, seed=3)
    SlowJoint.sleep = a.sleep
    cfg = TrainConfig(epochs=a.epochs, batch_size=64, lr=3e-3, patience=a.patience, seed=7,
                      checkpoint_dir=a.ckpt, resume=a.resume, progress=False)
    torch.manual_seed(0)
    data_std = data.standardize()
    method = SlowJoint(data_std.spec, hidden=32, embed_dim=16, dropout=a.dropout)
    res = fit(method, data, cfg)
    if is_main_process():
        weights = torch.cat([p.detach().flatten() for p in res.method.parameters()])
        Path(a.out).write_text(json.dumps({
            "metrics": res.metrics, "best_epoch": res.best_epoch,
            "weights_sum": float(weights.double().sum()), "weights_abs": float(weights.double().abs().sum()),
            "history_loss": [h["loss"] for h in res.history],
        }))


if __name__ == "__main__":
    main()
