"""Training options, method options, thread policy and checkpoint identity."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest
import torch

from infofusion.errors import (
    CheckpointError,
    CheckpointMismatchError,
    ConfigError,
    InfoFusionWarning,
)
from infofusion.registry import create, get, list_components
from infofusion.training import TrainConfig, fit
from infofusion.training.checkpoint import dataset_fingerprint, read_torch_file
from infofusion.training.config import MAX_DEFAULT_THREADS, SMALL_MODEL_PARAMS, usable_cores
from infofusion.validation import Rule, check_option
from tests.helpers import xor_dataset


def test_every_training_default_passes_its_own_rule_and_every_field_is_checked():
    """A field whose default broke its rule could never be built; a field whose annotation the
    checker cannot read would accept anything. Neither exists."""
    from infofusion.validation import _fits, resolve_hints

    hints = resolve_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        assert _fits(f.default, hints[f.name]) is True, f.name
        check_option("training", f.name, f.default, hints[f.name], f.metadata["rule"])
        bad = 12 if hints[f.name] in (str, str | None) else "not a value"
        with pytest.raises(ConfigError, match=f"'{f.name}'"):
            TrainConfig(**{f.name: bad})


@pytest.mark.parametrize("name", list_components("method"))
def test_option_rules_name_real_options_of_every_method(name):
    """A rule for an option the method does not have would never apply (a typo)."""
    cls = get("method", name)
    method = create("method", name, spec=xor_dataset(n=32).spec, hidden=8, embed_dim=4)
    rules: dict[str, Rule] = {}
    for klass in reversed(cls.__mro__):
        rules.update(vars(klass).get("option_rules", {}))
    assert set(rules) <= set(method.get_params()), set(rules) - set(method.get_params())


def test_option_rule_table_must_hold_rules():
    from infofusion.methods.joint import JointFusion

    with pytest.raises(ConfigError, match="option_rules"):
        type("Bad", (JointFusion,), {"option_rules": {"hidden": 3}})


def test_check_option_names_option_value_and_what_is_allowed():
    with pytest.raises(ConfigError) as err:
        check_option("method 'x'", "alpha", 1.5, float, Rule(min=0, max=1))
    assert str(err.value) == "method 'x' option 'alpha'=1.5 is invalid: expected a finite number >= 0 and <= 1"
    with pytest.raises(ConfigError, match=r"expected a list of integers or an integer or none"):
        check_option("m", "dims", ["a"], list[int] | int | None)
    with pytest.raises(ConfigError, match=r"\[1, -2\]"):
        check_option("m", "dims", [1, -2], list[int], Rule(min=0))
    check_option("m", "anything", object(), typing.Any)  # an annotation it cannot read accepts
    check_option("m", "n", np.int64(3), int, Rule(min=1))  # numpy integers are integers
    with pytest.raises(ConfigError, match="one of 'a', 'b'"):
        check_option("m", "k", "c", typing.Literal["a", "b"])


def test_thread_policy():
    cfg = TrainConfig()
    assert cfg.cpu_threads(SMALL_MODEL_PARAMS - 1) == 1
    assert cfg.cpu_threads(SMALL_MODEL_PARAMS) == max(1, min(MAX_DEFAULT_THREADS, usable_cores()))
    assert TrainConfig(threads=3).cpu_threads(10) == 3


def test_fit_runs_small_models_on_one_thread_and_restores_the_setting():
    before = torch.get_num_threads()
    seen = []

    from infofusion.methods.joint import JointFusion

    class Spy(JointFusion):
        name = "joint"

        def on_epoch_start(self, epoch, trainer):
            seen.append(torch.get_num_threads())

    data = xor_dataset(n=64)
    res = fit(Spy(data.standardize().spec, hidden=8), data, TrainConfig(epochs=2, progress=False))
    assert seen == [1, 1] and res.threads == 1
    assert torch.get_num_threads() == before
    res = fit(Spy(data.standardize().spec, hidden=8), data, TrainConfig(epochs=1, progress=False, threads=2))
    assert seen[-1] == 2 and res.threads == 2


def test_fingerprint_follows_content_not_name():
    a, b = xor_dataset(n=64, seed=0), xor_dataset(n=64, seed=0)
    b.name = "renamed"
    fa, fb = dataset_fingerprint(a), dataset_fingerprint(b)
    assert fa["hash"] == fb["hash"] and fa["name"] != fb["name"]
    assert dataset_fingerprint(xor_dataset(n=64, seed=1))["hash"] != fa["hash"]  # same shapes
    moved = a.with_splits({k: v for k, v in zip(("train", "valid", "test"), np.array_split(np.arange(64), 3), strict=True)})
    assert dataset_fingerprint(moved)["hash"] != fa["hash"]  # same samples, other splits


def test_resume_without_a_checkpoint_says_it_starts_fresh(tmp_path):
    cfg = TrainConfig(epochs=1, progress=False, checkpoint_dir=str(tmp_path / "ck"), resume=True)
    with pytest.warns(InfoFusionWarning, match=f"no checkpoint in {tmp_path / 'ck'}: starting fresh"):
        fit("joint", xor_dataset(n=64), cfg, hidden=8)
    assert (tmp_path / "ck" / "last.pt").exists()


def test_resuming_the_same_run_from_a_reloaded_dataset_continues_it(tmp_path):
    """The identity check accepts the same run with a dataset loaded again (the fingerprint is
    of content), and the resumed result equals an uninterrupted run."""
    ck = str(tmp_path / "ck")
    full = fit("joint", xor_dataset(n=96), TrainConfig(epochs=4, progress=False), hidden=8)
    fit("joint", xor_dataset(n=96), TrainConfig(epochs=4, progress=False, checkpoint_dir=ck), hidden=8)
    state = torch.load(tmp_path / "ck" / "last.pt", weights_only=True)
    assert state["identity"]["method"] == "joint" and state["identity"]["options"]["hidden"] == 8
    again = fit("joint", xor_dataset(n=96), TrainConfig(epochs=4, progress=False, checkpoint_dir=ck, resume=True),
                hidden=8)
    assert again.metrics == full.metrics


def test_mismatch_lists_every_difference(tmp_path):
    ck = str(tmp_path / "ck")
    fit("joint", xor_dataset(n=64), TrainConfig(epochs=1, progress=False, checkpoint_dir=ck), hidden=8)
    with pytest.raises(CheckpointMismatchError) as err:
        fit("joint", xor_dataset(n=64, seed=5), TrainConfig(epochs=1, lr=0.01, progress=False, checkpoint_dir=ck,
                                                            resume=True), hidden=16)
    assert set(err.value.differences) == {"options.hidden", "data.hash", "train.lr"}
    assert err.value.differences["options.hidden"] == (8, 16)


def test_unreadable_checkpoints_never_advise_weights_only_false(tmp_path):
    """Torch's own message for a refused or garbage file suggests ``weights_only=False``, i.e.
    running the file's code; ours never repeats it."""
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    files = {"garbage": b"garbage" * 10, "pickle": pickle.dumps({"a": 1}), "empty": b""}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    torch.save({"x": Evil()}, tmp_path / "evil")
    for name in [*files, "evil"]:
        with pytest.raises(CheckpointError) as err:
            read_torch_file(tmp_path / name)
        assert "weights_only" not in str(err.value) and name in str(err.value)
    assert not (tmp_path / "PWNED").exists()
