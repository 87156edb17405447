"""MCR: Jensen-Shannon influence terms, the games' signs and gradient paths, the regulariser in
the optimised loss, per-sample sensitivities, reproducible permutations, stages, options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from infofusion.errors import ConfigError
from infofusion.functional.fusion import competition_game, js_divergence, supervised_nt_xent
from infofusion.methods.mcr import MCR
from infofusion.training import TrainConfig
from infofusion.training.trainer import Trainer
from tests.helpers import regression_dataset, xor_dataset


def _mcr(data, **kw):
    torch.manual_seed(0)
    return MCR(data.spec, hidden=8, embed_dim=4, **kw)


# ------------------------------------------------------------------ Jensen-Shannon
def test_js_worked_example():
    """p = (1/4, 3/4), q = (3/4, 1/4): m = (1/2, 1/2), JS = 3/4 ln 3 - ln 2."""
    p = torch.tensor([[0.0, math.log(3.0)]])
    q = torch.tensor([[math.log(3.0), 0.0]])
    assert js_divergence(p, q).item() == pytest.approx(0.75 * math.log(3.0) - math.log(2.0), abs=1e-6)
    assert js_divergence(p, p).item() == pytest.approx(0.0, abs=1e-7)
    # disjoint supports reach the maximum ln 2 without overflow
    far = torch.tensor([[100.0, -100.0]])
    assert js_divergence(far, -far).item() == pytest.approx(math.log(2.0), abs=1e-6)


def test_js_agrees_with_scipy():
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(6, 5, generator=gen) * 2, torch.randn(6, 5, generator=gen) * 2
    ours = js_divergence(a, b).numpy()
    ref = jensenshannon(torch.softmax(a, -1).numpy(), torch.softmax(b, -1).numpy(), axis=1) ** 2  # distance^2, nats
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ games
def test_game_signs_per_variant():
    own = {"a": torch.tensor(1.0), "v": torch.tensor(2.0)}
    rest = {"a": torch.tensor(3.0), "v": torch.tensor(5.0)}
    both = {"a": torch.tensor(7.0), "v": torch.tensor(11.0)}
    # greedy: -D_a^(a) + D_a^(v) - D_v^(v) + D_v^(a)
    assert competition_game("greedy", own, rest).item() == -1 + 3 - 2 + 5
    assert competition_game("independent", own).item() == -(1 + 2)
    assert competition_game("collaborative", both=both).item() == -(7 + 11)
    with pytest.raises(ValueError, match="needs the 'rest'"):
        competition_game("greedy", own)
    with pytest.raises(ValueError, match="game must be one of"):
        competition_game("selfish", own)


def _copies_influence(m, perm_branch, ref, bias, perms):
    """D_m written with one separate copy of every contribution for the permuted branch and one
    for the reference prediction (linear fusion): plain probabilities, no code shared with the
    method, no detach."""
    moved = perm_branch[m][perms]  # (P, B, C)
    others = sum(x for k, x in perm_branch.items() if k != m)
    p = torch.softmax(moved + others + bias, -1)
    q = torch.softmax(sum(ref.values()) + bias, -1).unsqueeze(0)
    mid = (p + q) / 2
    return (0.5 * (p * (p / mid).log()).sum(-1) + 0.5 * (q * (q / mid).log()).sum(-1)).mean()


def _modalities_dataset(n_mod):
    from infofusion.data.dataset import MultimodalDataset

    gen = torch.Generator().manual_seed(0)
    x = {f"m{k}": torch.randn(24, 2, generator=gen).numpy() for k in range(n_mod)}
    return MultimodalDataset(x, (torch.arange(24) % 2).numpy(), name="toy")


@pytest.mark.parametrize("n_mod", [2, 3])
@pytest.mark.parametrize("game", ["greedy", "independent", "collaborative"])
def test_game_gradient_paths(game, n_mod):
    """The gradient of the game reaching each modality's contribution equals the formula with
    the detached paths made explicit (copies ``k_perm`` in D_m's permuted prediction and
    ``k_ref`` in its reference); with three modalities each one plays against the rest:

    * greedy: grad_k = -dD_k/dk_perm + sum_{m != k} dD_m/dk_perm -- the reference prediction's
      gradient cancels between D^(own) and D^(rest);
    * independent: grad_k = -dD_k/dk_perm - sum_m dD_m/dk_ref;
    * collaborative: grad_k = -sum_m (dD_m/dk_perm + dD_m/dk_ref).
    """
    data = _modalities_dataset(n_mod)
    names = data.names
    method = _mcr(data, fusion="linear", game=game, permutations=5).train()
    batch = data.batch(torch.arange(12))
    gen = torch.Generator().manual_seed(0)
    x = {k: torch.randn(12, 2, generator=gen, requires_grad=True) for k in names}
    method._step = 3
    perms = method.draw_permutations(5, batch)
    value = method._game_term(x, batch, {})
    got = dict(zip(names, torch.autograd.grad(value, list(x.values())), strict=True))

    bias = method.bias.detach()
    grads = {}  # m -> (k -> dD_m/dk_perm, k -> dD_m/dk_ref)
    for m in names:
        perm_branch = {k: v.detach().clone().requires_grad_(True) for k, v in x.items()}
        ref = {k: v.detach().clone().requires_grad_(True) for k, v in x.items()}
        d = _copies_influence(m, perm_branch, ref, bias, perms)
        g = torch.autograd.grad(d, [*perm_branch.values(), *ref.values()])
        grads[m] = (dict(zip(names, g[: len(names)], strict=True)), dict(zip(names, g[len(names):], strict=True)))
    for k in names:
        if game == "greedy":
            expect = -grads[k][0][k] + sum(grads[m][0][k] for m in names if m != k)
        elif game == "independent":
            expect = -grads[k][0][k] - sum(grads[m][1][k] for m in names)
        else:
            expect = -sum(grads[m][0][k] + grads[m][1][k] for m in names)
        torch.testing.assert_close(got[k], expect, rtol=1e-5, atol=1e-7)
        assert got[k].abs().sum() > 0
    if game == "greedy":
        assert value.item() == pytest.approx(0.0, abs=1e-7)  # own and rest share their value


def test_game_weight_changes_the_optimised_gradient():
    """The regulariser enters what the engine minimises: the gradient of ``Trainer.loss_of`` is
    the task part plus ``lam`` times the game's gradient, and changes with ``lam``."""
    data = xor_dataset(n=64).standardize()
    batch = data.batch(torch.arange(32))

    def grads(lam):
        method = _mcr(data, lam=lam, pretrain=False, game="independent").train()
        trainer = Trainer(method, data, TrainConfig(device="cpu", progress=False))
        method.on_fit_start(trainer)
        method._epoch, method._step = 0, 0
        out = method(batch)
        trainer.loss_of(out).backward()
        return {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None}, out

    g0, out0 = grads(0.0)
    g1, out1 = grads(0.5)
    assert "mcr" not in out0.losses and out1.losses["mcr"].item() < 0  # -(D_a + D_b) < 0
    changed = [n for n in g1 if n.startswith(("encoders.", "proj.")) and not torch.allclose(g0[n], g1[n])]
    assert changed, "the game weight did not change any encoder gradient"
    # linearity: grad(lam = 0.5) - grad(lam = 0) = 0.5 * grad(game term)
    method = _mcr(data, lam=0.5, pretrain=False, game="independent").train()
    method._epoch, method._step = 0, 0
    method(batch).losses["mcr"].backward()
    game_grad = {n: p.grad for n, p in method.named_parameters() if p.grad is not None}
    for n in changed:
        torch.testing.assert_close(g1[n] - g0[n], 0.5 * game_grad[n], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ per-sample outputs
def test_sensitivity_is_zero_for_an_ignored_modality():
    data = xor_dataset(n=64).standardize()
    method = _mcr(data, pretrain=False).eval()
    with torch.no_grad():
        method.proj["b"].weight.zero_()  # the fused prediction no longer reads b
    batch = data.batch(torch.arange(40))
    with torch.no_grad():
        out = method(batch)
    assert out.diagnostics["js/b"].shape == (40,)
    torch.testing.assert_close(out.diagnostics["js/b"], torch.zeros(40))
    assert (out.diagnostics["js/a"] > 0).any()
    correct = (out.prediction.argmax(-1) == batch.y).float()
    torch.testing.assert_close(out.diagnostics["perm_correct/b"], correct)  # permuting b changes nothing
    again = method(batch).diagnostics["js/a"]
    torch.testing.assert_close(out.diagnostics["js/a"], again)  # evaluation permutations are fixed


def test_permutations_are_reproducible_and_per_process():
    data = xor_dataset(n=64)
    method = _mcr(data).train()
    batch = data.batch(torch.arange(20))

    def draw(seed=0, rank=0, epoch=0, step=0):
        method._seed, method._rank, method._epoch, method._step = seed, rank, epoch, step
        return method.draw_permutations(4, batch)

    first = draw()
    assert first.shape == (4, 20) and all(sorted(row.tolist()) == list(range(20)) for row in first)
    assert torch.equal(first, draw())
    for changed in ({"seed": 1}, {"rank": 1}, {"epoch": 1}, {"step": 1}):
        assert not torch.equal(first, draw(**changed)), changed


# ------------------------------------------------------------------ optional terms
def test_supervised_contrastive_worked_example():
    """z1 = z2 = (1, 0) (class 0), z3 = (0, 1) (class 1), T = 1: each of the two positive pairs
    costs -1 + log(e^1 + e^0) = log(1 + 1/e)."""
    z = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    labels = torch.tensor([0, 0, 1])
    assert supervised_nt_xent(z, labels, temperature=1.0).item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    assert supervised_nt_xent(z, torch.tensor([0, 1, 2])).item() == 0.0  # no positive pair


def test_supervised_contrastive_matches_a_loop():
    gen = torch.Generator().manual_seed(1)
    z, labels, t = torch.randn(9, 3, generator=gen), torch.tensor([0, 1, 0, 2, 1, 0, 2, 2, 1]), 0.5
    zn = z / z.norm(dim=1, keepdim=True)
    costs = []
    for i in range(9):
        for p in range(9):
            if p != i and labels[p] == labels[i]:
                neg = sum(math.exp(float(zn[i] @ zn[n]) / t) for n in range(9) if labels[n] != labels[i])
                s = float(zn[i] @ zn[p]) / t
                costs.append(-s + math.log(math.exp(s) + neg))
    assert supervised_nt_xent(z, labels, t).item() == pytest.approx(sum(costs) / len(costs), rel=1e-5)


def test_ceb_term_does_not_train_the_prediction():
    """L_CEB = MSE([f_a; f_b], g(y.detach())): it reaches the encoders and g, never the head."""
    data = xor_dataset(n=64).standardize()
    method = _mcr(data, pretrain=False, lam=0.0, ceb=1.0).train()
    out = method(data.batch(torch.arange(16)))
    out.losses["ceb"].backward()
    assert all(p.grad is None for p in method.head.parameters())
    assert method.ceb_net[0].weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.encoders["a"].parameters())


# ------------------------------------------------------------------ stages and options
def test_pretraining_stages_are_declared_per_modality():
    data = xor_dataset(n=160).standardize()
    method = _mcr(data)
    stages = method.stages()
    assert [s.name for s in stages] == ["pretrain:a", "pretrain:b", "main"]
    assert [s.metric for s in stages[:2]] == ["a/accuracy", "b/accuracy"]
    assert stages[0].train == ("encoder:a", "unimodal_head:a")
    method._stage = "pretrain:b"
    weights = method.loss_weights()
    assert weights["uni/b"] == 1.0 and weights["uni/a"] == 0.0 and weights["task"] == 0.0
    method._stage = "main"
    assert method.loss_weights()["mcr"] == 0.1


def test_options_are_checked():
    data = xor_dataset(n=32)
    with pytest.raises(ConfigError, match="at least two modalities.*\\['a'\\]"):
        MCR(data.spec, modalities=["a"])
    with pytest.raises(ConfigError, match="game must be one of greedy, independent, collaborative, got 'nash'"):
        MCR(data.spec, game="nash")
    with pytest.raises(ConfigError, match="permutations must be an integer >= 1"):
        MCR(data.spec, permutations=0)
    with pytest.raises(ConfigError, match="contrastive term needs class labels"):
        MCR(regression_dataset(n=32).spec, contrastive=1.0)
    assert MCR(data.spec, **{"lambda": 0.3}).get_params()["lam"] == 0.3


def test_regression_uses_squared_differences():
    data = regression_dataset(n=64).standardize()
    method = _mcr(data, pretrain=False).eval()
    with torch.no_grad():
        out = method(data.batch(torch.arange(16)))
    assert set(out.diagnostics) == {"sqdiff/a", "sqdiff/b"} and out.diagnostics["sqdiff/a"].shape == (16,)
    assert method.stages() == []
    assert _mcr(data).stages()[0].metric == "a/MAE"


def test_stages_and_resume(tmp_path):
    """Each pre-training stage trains its modality's encoder and unimodal head only; the fused
    stage trains the fusion. Permutations are a function of (seed, rank, stage, epoch, step),
    not of a generator's history, so a run resumed from its checkpoint ends bit-identical to
    an uninterrupted one."""
    from infofusion.training import fit

    data = xor_dataset(n=160).standardize()
    snapshots = {}

    class Killed(Exception):
        pass

    def run(epochs, ckpt, resume=False, watch=False, kill_at=None):
        method = _mcr(data, pretrain_epochs=1)
        if kill_at is not None:  # dies at the start of main-stage epoch ``kill_at`` (after its checkpoint)
            start = method.on_epoch_start

            def die(epoch, trainer):
                if trainer.stage.name == "main" and epoch == kill_at:
                    raise Killed
                start(epoch, trainer)

            method.on_epoch_start = die
        if watch:
            hook = method.on_stage_start

            def snapshot(stage, trainer):
                snapshots[stage.name] = {n: p.detach().clone() for n, p in method.named_parameters()}
                hook(stage, trainer)

            method.on_stage_start = snapshot
        cfg = TrainConfig(epochs=epochs, patience=0, device="cpu", progress=False, seed=3,
                          checkpoint_dir=str(ckpt), resume=resume)
        result = fit(method, data, cfg)
        return result, torch.load(ckpt / "last.pt", weights_only=True)["model"]

    result, whole = run(4, tmp_path / "whole", watch=True)
    assert [r.name for r in result.stages] == ["pretrain:a", "pretrain:b", "main"]
    names = set(whole) & set(snapshots["main"])

    def changed(a, b):
        return {n for n in names if not torch.equal(snapshots[a][n], snapshots[b][n])}

    assert changed("pretrain:a", "pretrain:b") == {n for n in names if n.startswith(("encoders.a.", "uni_heads.a."))}
    assert changed("pretrain:b", "main") == {n for n in names if n.startswith(("encoders.b.", "uni_heads.b."))}
    assert {"proj.a.weight", "proj.b.weight", "bias"} <= {n for n in names if not torch.equal(snapshots["main"][n], whole[n])}

    with pytest.raises(Killed):
        run(4, tmp_path / "parts", kill_at=2)
    _, resumed = run(4, tmp_path / "parts", resume=True)
    assert whole.keys() == resumed.keys()
    for k in whole:
        assert torch.equal(whole[k], resumed[k]), k
