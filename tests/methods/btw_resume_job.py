"""A BTW training job run as a subprocess by the resume test.

Usage: python btw_resume_job.py OUT.json [--ckpt DIR] [--resume] [--sleep S]
Trains BTW (2-fold cross-fitted unimodal models, weights updated every fusion epoch) on a small
three-modality synthetic task and writes the final metrics, a checksum of the parameters, the
epoch losses, the per-sample weights and the update log to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infofusion.data import load_dataset  # noqa: E402
from infofusion.methods.btw import BTW  # noqa: E402
from infofusion.training import TrainConfig, fit  # noqa: E402


class SlowBTW(BTW):
    """BTW that pauses after each fusion epoch, so that a kill lands mid-run."""

    pause = 0.0

    def on_epoch_end(self, epoch: int, trainer: Any) -> None:
        super().on_epoch_end(epoch, trainer)
        if self.phase == "fusion":
            time.sleep(self.pause)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--ckpt", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--sleep", type=float, default=0.0)
    a = p.parse_args()
    torch.set_num_threads(1)
    data = load_dataset("synthetic:mixed3_partial", n=400, dim=6)
    cfg = TrainConfig(epochs=8, batch_size=64, lr=3e-3, patience=0, seed=5, checkpoint_dir=a.ckpt, resume=a.resume, progress=False)
    SlowBTW.pause = a.sleep
    torch.manual_seed(0)
    method = SlowBTW(data.standardize().spec, hidden=16, embed_dim=8, pretrain_epochs=2, update_every=1, crossfit=2)
    res = fit(method, data, cfg)
    params = torch.cat([q.detach().flatten() for q in res.method.parameters()]).double()
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in res.method.update_log.rows]
    out = {
        "metrics": res.metrics,
        "params_sum": float(params.sum()),
        "history_loss": [h["loss"] for h in res.history],
        "weights": res.method.sample_state("weights").tolist(),
        "rows": rows,
        "smoothing": res.method.update_log.smoothing,
    }
    Path(a.out).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
