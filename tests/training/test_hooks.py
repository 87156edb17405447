"""Method hooks: misspelt hooks fail at class creation, stages train exactly their groups and
select on their own metric, per-sample state travels with the weights, all_reduce and the
shared generator in one process."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from infofusion.errors import ConfigError
from infofusion.interfaces import StageSpec
from infofusion.methods.base import HOOKS, FusionMethod
from infofusion.methods.joint import JointFusion
from infofusion.training import TrainConfig, Trainer, fit
from tests.helpers import xor_dataset
from tests.training.toy_methods import (
    StagedToy,
    WeightedJoint,
    changed_groups,
    expected_staged_changes,
)


# ------------------------------------------------------------------------------- typed hooks
@pytest.mark.parametrize(
    ("attr", "meant"),
    [("on_epoch_ends", "on_epoch_end"), ("after_backwards", "after_backward"), ("stage", "stages"),
     ("configure_optimizers", "configure_optimizer"), ("param_groups", "parameter_groups"),
     ("save_plot", "save_plots"), ("bench_option", "bench_options"), ("on_stage_end", None)],
)
def test_misspelt_hook_is_an_error_at_class_creation(attr, meant):
    with pytest.raises(ConfigError, match=f"defines '{attr}'") as err:
        type("Typo", (JointFusion,), {attr: lambda self, *a: None})
    if meant:
        assert f"did you mean '{meant}'" in str(err.value)
    else:  # an `on_...` name that is no hook: the message lists the hooks
        assert "on_epoch_end" in str(err.value)


def test_hook_with_the_wrong_arguments_is_an_error():
    with pytest.raises(ConfigError, match=r"after_backward\(self, trainer\) does not accept"):
        type("Old", (JointFusion,), {"after_backward": lambda self, trainer: None})
    with pytest.raises(ConfigError, match="bench_options must be a dict"):
        type("Bad", (JointFusion,), {"bench_options": ["order=auto"]})
    with pytest.raises(ConfigError, match="expresses_synergy must be True, False or None"):
        type("Bad", (JointFusion,), {"expresses_synergy": "yes"})
    with pytest.raises(ConfigError, match="family must be a non-empty string"):
        type("Bad", (JointFusion,), {"family": ""})


def test_every_hook_has_a_no_op_default_with_its_documented_arguments():
    data = xor_dataset(n=32)
    method = JointFusion(data.spec, hidden=8, embed_dim=4)
    for hook, args in HOOKS.items():
        out = getattr(method, hook)(*([None] * len(args)))
        assert out in (None, [], {}), hook


def test_unknown_stage_group_and_unknown_stage_metric_are_errors():
    data = xor_dataset(n=200)
    spec = data.standardize().spec
    cfg = TrainConfig(epochs=1, progress=False)

    class WrongGroup(StagedToy):
        def stages(self):
            return [StageSpec("s", train=("encoder",))]

    with pytest.raises(ConfigError, match="unknown parameter group 'encoder'.*encoders, heads, fusion"):
        fit(WrongGroup(spec, hidden=8, embed_dim=4), data, cfg)

    class WrongMetric(StagedToy):
        def stages(self):
            return [StageSpec("s", metric="c/accuracy")]

    with pytest.raises(ConfigError, match="'c/accuracy'.*available: a/accuracy"):
        fit(WrongMetric(spec, hidden=8, embed_dim=4), data, cfg)


# ------------------------------------------------------------------------------- stages
def test_three_stages_train_exactly_their_groups_and_select_on_their_metric():
    data = xor_dataset(n=400, seed=3)
    method = StagedToy(data.standardize().spec, hidden=16, embed_dim=8, dropout=0.0)
    lr = 2e-3
    res = fit(method, data, TrainConfig(lr=lr, batch_size=64, patience=0, progress=False))
    method.snapshot("end")
    keys = ["unimodal", "fusion", "finetune", "end"]
    changes = {k: changed_groups(method.snapshots[k], method.snapshots[n]) for k, n in zip(keys, keys[1:], strict=False)}
    assert changes == expected_staged_changes(method)
    # the learning rate of each stage is lr * lr_factor
    assert method.lrs == {"unimodal": [lr, lr], "fusion": [lr * 0.5, lr * 0.5], "finetune": [lr * 0.1, lr * 0.1]}
    # each stage kept the weights of its best validation epoch on its own metric
    assert [s.metric for s in res.stages] == ["a/accuracy", "accuracy", "accuracy"]
    assert [s.epochs for s in res.stages] == [3, 3, 2]
    for st in res.stages:
        scores = [h[f"valid/{st.metric}"] for h in res.history if h["stage"] == st.name]
        assert st.best_epoch == int(np.argmax(scores)) and st.best_score == max(scores)
    assert res.selection_metric == "accuracy" and res.best_epoch == res.stages[-1].best_epoch
    # the restored weights of stage 1 score its best a/accuracy (they are the selected epoch's)
    trainer = Trainer(StagedToy(data.standardize().spec, hidden=16, embed_dim=8), res.data, res.config)
    trainer.method.load_state_dict({k: v for k, v in method.snapshots["fusion"].items()}, strict=False)
    assert trainer.evaluate("valid")["a/accuracy"] == res.stages[0].best_score
    # what was frozen at construction is frozen again after a train=None stage
    assert not any(p.requires_grad for p in method.fusion.parameters())


# ------------------------------------------------------------------------------- per-sample state
def test_sample_state_travels_with_the_weights_but_is_no_buffer():
    data = xor_dataset(n=40)
    method = WeightedJoint(data.spec, hidden=8, embed_dim=4)
    w = method.register_sample_state("weight", torch.arange(40.0))
    assert method.sample_state("weight") is w
    assert not list(method.buffers())  # DDP broadcasts buffers every step; this is not one
    saved = copy.deepcopy(method.state_dict())  # state_dict() shares storage, as for parameters
    assert torch.equal(saved["_sample_states._extra_state"]["weight"], torch.arange(40.0))
    w.mul_(0)  # the method updates it in place ...
    method.load_state_dict(saved)  # ... and a saved state restores it, in the same tensor
    assert torch.equal(method.sample_state("weight"), torch.arange(40.0)) and method.sample_state("weight") is w
    assert method.to(torch.float64).sample_state("weight").dtype == torch.float64  # moved like a buffer
    other = WeightedJoint(data.spec, hidden=8, embed_dim=4)
    other.register_sample_state("weight", torch.zeros(7))
    with pytest.raises(ConfigError, match="'weight' has shape \\(40,\\).*\\(7,\\)"):
        other.load_state_dict(saved)
    with pytest.raises(ConfigError, match="no per-sample state 'weights'"):
        method.sample_state("weights")


def test_sample_state_is_refreshed_each_epoch_and_selected_with_the_weights():
    data = xor_dataset(n=300, seed=2)
    res = fit(WeightedJoint(data.standardize().spec, hidden=16, embed_dim=8), data,
              TrainConfig(epochs=4, patience=0, progress=False))
    w = res.method.sample_state("weight")
    train = res.data.indices("train")
    other = torch.ones(len(data), dtype=torch.bool)
    other[train] = False
    assert torch.all(w[other] == 1.0)  # only the split it is refreshed from changes
    assert len(torch.unique(w[train])) > 50 and torch.all((w[train] >= 1.0) & (w[train] <= 2.0))


# ------------------------------------------------------------------------------- collectives
def test_all_reduce_is_the_identity_in_one_process_and_checks_its_op():
    data = xor_dataset(n=32)
    trainer = Trainer(JointFusion(data.spec, hidden=8, embed_dim=4), data, TrainConfig(progress=False))
    stats = {"a": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    assert trainer.all_reduce(stats) is stats
    with pytest.raises(ConfigError, match="op 'avg' is unknown"):
        trainer.all_reduce(stats, op="avg")
    # the shared stream is fixed by the seed and differs from the shuffling stream
    again = Trainer(JointFusion(data.spec, hidden=8, embed_dim=4), data, TrainConfig(progress=False))
    a = torch.randn(5, generator=trainer.shared_generator)
    assert torch.equal(a, torch.randn(5, generator=again.shared_generator))
    assert not torch.equal(torch.randn(5, generator=torch.Generator().manual_seed(0)), torch.randn(5, generator=Trainer(
        JointFusion(data.spec, hidden=8, embed_dim=4), data, TrainConfig(progress=False)).shared_generator))


def test_trainer_rejects_a_module_that_is_no_fusion_method():
    data = xor_dataset(n=32)
    with pytest.raises(ConfigError, match="FusionMethod subclasses.*Linear"):
        Trainer(torch.nn.Linear(2, 2), data, TrainConfig(progress=False))  # type: ignore[arg-type]


def test_fusion_method_subclass_without_hooks_is_fine():
    class Plain(FusionMethod):
        name = "plain"

    assert Plain.bench_options == {} and Plain.ddp_find_unused_parameters is None
