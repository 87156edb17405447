"""Validation-only grid for a method's defaults: mean validation accuracy per option setting.

Trains ``METHOD`` on each dataset for every combination of the grid's values with the quick
bench budget (40 epochs at most, patience 8, lr 2e-3, batch 128) and prints one JSON line per
(dataset, setting) with the validation accuracy of the selected weights (mean over seeds
``0..SEEDS-1``, and per seed). The test split is never read for the choice.

    OMP_NUM_THREADS=1 python benchmarks/fusion_defaults.py mcr \\
        '{"lam": [0.01, 0.1, 1.0], "unimodal_weight": [0.01, 1.0]}' synthetic:mixed,digits 2
    OMP_NUM_THREADS=1 python benchmarks/fusion_defaults.py mmib \\
        '{"bottleneck": ["both", "unimodal", "fused"]}' synthetic:mixed,digits 2
"""

from __future__ import annotations

import argparse
import itertools
import json

import torch

from infofusion import api


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("method")
    parser.add_argument("grid", help='JSON object: option -> list of values, e.g. \'{"lam": [0.1, 1]}\'')
    parser.add_argument("datasets", help="comma-separated dataset specs")
    parser.add_argument("seeds", type=int)
    args = parser.parse_args()
    torch.set_num_threads(1)
    grid = json.loads(args.grid)
    config = api.bench_config()
    for spec in args.datasets.split(","):
        for values in itertools.product(*grid.values()):
            options = dict(zip(grid, values, strict=True))
            records = api.train(args.method, spec, seeds=args.seeds, config=config, method_options=options)
            valid = [r.metrics["valid/accuracy"] for r in records]
            print(json.dumps({"data": spec, "method": args.method, **options,
                              "valid_accuracy": sum(valid) / len(valid), "per_seed": valid}), flush=True)


if __name__ == "__main__":
    main()
