"""Training job run as a subprocess (one process or two under torchrun) by the balancing DDP test.

Usage: python balancing_job.py OUT.json [--epochs N]
Trains ogm_ge, agm, mlb and mmpareto in turn on a small dataset where modality ``a`` dominates
and writes, per method, the epoch losses, every weight, and the coefficients (MMPareto: the
weights) of every step to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infofusion.methods.agm import AGM  # noqa: E402
from infofusion.methods.mlb import MLB  # noqa: E402
from infofusion.methods.mmpareto import MMPareto  # noqa: E402
from infofusion.methods.ogm_ge import OGMGE  # noqa: E402
from infofusion.training import TrainConfig, fit  # noqa: E402
from infofusion.training.distributed import init_if_launched, is_main_process  # noqa: E402
from tests.training.toy_methods import dominant_dataset  # noqa: E402


class _Trace:
    """Keeps the coefficients of every step."""

    trace: list[Any]

    def after_backward(self, trainer: Any, batch: Any, out: Any) -> None:
        super().after_backward(trainer, batch, out)  # type: ignore[misc]
        got = getattr(self, "last_weights", None) or self.last_coefficients  # type: ignore[attr-defined]
        self.trace.append({m: list(v) if isinstance(v, tuple) else v for m, v in got.items()})


class OGMTrace(_Trace, OGMGE):
    pass


class MLBTrace(_Trace, MLB):
    pass


class MMParetoTrace(_Trace, MMPareto):
    pass


class AGMTrace(AGM):
    trace: list[Any]

    def coefficients(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        k = super().coefficients(stats)
        self.trace.append(k)
        return k


METHODS = {"ogm_ge": OGMTrace, "agm": AGMTrace, "mlb": MLBTrace, "mmpareto": MMParetoTrace}


def run(name: str, epochs: int) -> dict[str, Any]:
    data = dominant_dataset(n=320, seed=3)
    cfg = TrainConfig(epochs=epochs, batch_size=64, lr=3e-3, patience=0, seed=7, progress=False)
    torch.manual_seed(0)
    method = METHODS[name](data.standardize().spec, hidden=16, embed_dim=8, dropout=0.0)
    method.trace = []
    res = fit(method, data, cfg)
    weights = torch.cat([p.detach().flatten() for p in res.method.parameters()])
    return {"history_loss": [h["loss"] for h in res.history], "weights": weights.tolist(),
            "trace": method.trace, "metrics": res.metrics}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--epochs", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    init_if_launched()
    results = {name: run(name, a.epochs) for name in METHODS}
    if is_main_process():
        Path(a.out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
