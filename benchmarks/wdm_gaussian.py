"""The ``wdm`` estimator on bivariate Gaussians against the closed-form bounds on W1.

For unit-variance Gaussians with correlation rho and the Euclidean metric on (x, y),

    sqrt(2/pi) (1 - sqrt(1 - rho))  <=  W1(p_xy, p_x p_y)  <=  sqrt(4 - 2 (sqrt(1 + rho) + sqrt(1 - rho)))

(the lower bound is the dual value of the 1-Lipschitz critic -|x - y| / sqrt(2); the upper bound
is the cost of one coupling). The script prints the held-out estimate of both critics
(spectral normalisation, gradient penalty) per rho and seed, whether it lies inside the bounds,
and the ratio of the estimate on (3x, 3y) to the estimate on (x, y) (the measure scales with the
metric; MI would not change).

Run: ``.venv/bin/python benchmarks/wdm_gaussian.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def bounds(rho: float) -> tuple[float, float]:
    low = math.sqrt(2 / math.pi) * (1 - math.sqrt(1 - rho))
    high = math.sqrt(4 - 2 * (math.sqrt(1 + rho) + math.sqrt(1 - rho)))
    return low, high


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--rhos", type=float, nargs="*", default=[0.0, 0.5, 0.9])
    args = ap.parse_args(argv)

    import torch

    from infofusion.measures.mi import estimate_mi

    torch.set_num_threads(1)
    print(
        f"{'rho':>4s} {'seed':>4s} {'critic':17s} {'W1 estimate':>16s} {'bounds':>16s}  inside  x3 ratio"
    )
    for rho in args.rhos:
        low, high = bounds(rho)
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal(args.n)
            y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(args.n)
            for lip in ("spectral", "gradient_penalty"):
                kw = {"estimator": "wdm", "standardize": False, "lipschitz": lip, "seed": seed}
                est = estimate_mi(x, y, **kw)
                big = estimate_mi(3 * x, 3 * y, **kw).value
                inside = low - 2 * est.stderr <= est.value <= high + 2 * est.stderr
                ratio = big / est.value if est.value > 0.05 else float("nan")
                print(
                    f"{rho:4.1f} {seed:4d} {lip:17s} {est.value:8.3f} ± {est.stderr:.3f} "
                    f"[{low:.3f}, {high:.3f}]  {'yes' if inside else 'NO':>6s}  {ratio:6.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
