"""DSMI of each modality's encoder output with the label, over the training of a joint model.

Trains the ``joint`` fusion method (intermediate fusion: one encoder per modality, concatenated,
an MLP head) on a synthetic task and, after every epoch, computes the diffusion spectral mutual
information (:func:`infofusion.measures.mi.diffusion.dsmi`, bits) between each modality's encoder
output on the validation split and the label. The same call works on any layer of any trained
method: it takes a representation array and the labels.

On ``synthetic:uniqueness1`` only modality ``m1`` carries the label, so DSMI(m1 encoder; y)
rises as the encoder learns while DSMI(m2 encoder; y) stays near 0 (the encoder of a modality
with nothing to say has nothing to organise by label). ``synthetic:redundancy`` makes both rise.

The loop is the method contract only (``method(batch).losses``, ``method.encode``), so it does
not depend on the trainer's hooks. Run:

    .venv/bin/python benchmarks/dsmi_training.py --plot results/dsmi_training.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="synthetic:uniqueness1")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--points", type=int, default=500, help="validation points per DSMI")
    ap.add_argument("--plot", type=Path, default=Path("results/dsmi_training.png"))
    ap.add_argument("--out", type=Path, default=Path("results/dsmi_training.jsonl"))
    args = ap.parse_args(argv)

    from matplotlib.figure import Figure

    from infofusion.data import load_dataset
    from infofusion.measures.mi.diffusion import dsmi
    from infofusion.registry import create

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = load_dataset(args.data, seed=args.seed).standardize("train")
    method = create("method", "joint", spec=data.spec, hidden=64, embed_dim=32)
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(args.seed)
    valid = next(data.batches("valid", batch_size=10**9))
    labels = valid.y.numpy()

    def measure(epoch: int) -> dict:
        method.eval()
        with torch.no_grad():
            reps = method.encode(method.encoders, valid)
            acc = float((method(valid).prediction.argmax(-1) == valid.y).float().mean())
        row = {"epoch": epoch, "valid_accuracy": acc}
        for m, z in reps.items():
            res = dsmi(z.numpy(), labels, max_samples=args.points, repeats=3, seed=args.seed)
            row[f"dsmi/{m}"], row[f"dse/{m}"] = res.value, res.dse
        return row

    history = [measure(0)]
    for epoch in range(1, args.epochs + 1):
        method.train()
        for batch in data.batches("train", batch_size=128, shuffle=True, generator=gen):
            loss = sum(method(batch).losses.values())
            opt.zero_grad()
            loss.backward()
            opt.step()
        history.append(measure(epoch))
        row = history[-1]
        parts = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "epoch")
        print(f"epoch {epoch:3d}: {parts}", flush=True)

    mods = [k.split("/", 1)[1] for k in history[0] if k.startswith("dsmi/")]
    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for m in mods:
        ax.plot(
            epochs, [r[f"dsmi/{m}"] for r in history], marker="o", label=f"DSMI({m} encoder; y)"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("DSMI (bits)")
    ax2 = ax.twinx()
    ax2.plot(epochs, [r["valid_accuracy"] for r in history], "k--", lw=1, label="valid accuracy")
    ax2.set_ylabel("validation accuracy")
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center right")
    ax.set_title(f"joint on {args.data}")
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=120)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        for r in history:
            fh.write(json.dumps({"data": args.data, "seed": args.seed, **r}) + "\n")
    first, last = history[0], history[-1]
    for m in mods:
        print(
            f"DSMI({m} encoder; y): epoch 0 {first[f'dsmi/{m}']:.3f} -> epoch {last['epoch']} "
            f"{last[f'dsmi/{m}']:.3f} bits"
        )
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
