"""The learned estimator ``mist``: its meta-dataset's closed forms, the network's invariances,
the shipped checkpoint and the estimator's answers on known cases (inference only)."""

from __future__ import annotations

import doctest
import json
import pickle
from importlib import resources

import numpy as np
import pytest
import torch

from infofusion.errors import EstimationError, FormatError
from infofusion.measures.mi import create_estimator, estimate_mi, mist_model
from infofusion.measures.mi import mist as mist_module
from infofusion.measures.mi.gaussian import copula_normalize
from infofusion.measures.mi.mist_data import (
    PANEL_GAUSSIANS,
    MetaConfig,
    TaskSpec,
    gaussian_mi,
    panel_overlap,
    random_dataset,
    random_task,
    sample_task,
    student_t_mi,
    uniform_noise_mi,
    uniform_width_for,
)
from infofusion.measures.mi.mist_model import MISTConfig, MISTNet, pack

from .mi_truth import gaussian_mi as gaussian_mi_from_cov

# ------------------------------------------------------------------------------ generator


def test_student_t_closed_form_matches_bmi_truths():
    # BMI's values for its Student-t tasks with identity dispersion (task.mutual_information)
    assert student_t_mi(np.zeros(0), 1.0, 1, 1) == pytest.approx(0.22417142752923613, abs=1e-12)
    assert student_t_mi(np.zeros(0), 2.0, 5, 5) == pytest.approx(0.44815067691532917, abs=1e-12)
    # large nu: the shared scale carries nothing and the Gaussian part is all that is left
    rho = np.array([0.6, 0.3])
    assert student_t_mi(rho, 1e7, 2, 3) == pytest.approx(gaussian_mi(rho), abs=1e-6)


def test_uniform_noise_closed_form_and_inverse():
    # BMI's additive-noise task: epsilon -> MI, with noise U(-eps, eps), i.e. width a = 2 eps
    for eps in (0.1, 0.5, 0.75, 2.0):
        want = 0.25 / eps if eps > 0.5 else eps - np.log(2 * eps)
        assert uniform_noise_mi([2 * eps]) == pytest.approx(want, abs=1e-12)
    for mi in (0.05, 0.49, 0.5, 1.3, 3.0):
        assert uniform_noise_mi([uniform_width_for(mi)]) == pytest.approx(mi, abs=1e-9)


def test_gaussian_family_mi_equals_log_determinants_of_its_covariance():
    """Canonical pairs mixed on each side: MI from rho equals the log-det formula."""
    rng = np.random.default_rng(3)
    for fam in ("normal-dense", "normal-lowrank"):
        spec = random_task(rng, family=fam, transform="none", dims=(3, 4), mi=0.9)
        # x = u A_x, y = v A_y with Cov(u, v) = [[I, R], [R^T, I]]
        r = np.zeros((3, 4))
        r[np.arange(len(spec.rho)), np.arange(len(spec.rho))] = spec.rho
        cov = np.block([[np.eye(3), r], [r.T, np.eye(4)]])
        m = np.zeros((7, 7))
        m[:3, :3], m[3:, 3:] = spec.mix_x, spec.mix_y
        cov = m.T @ cov @ m
        assert gaussian_mi_from_cov(cov, 3, 4) == pytest.approx(spec.mi, abs=1e-9)
        assert spec.mi == pytest.approx(0.9, abs=1e-9)


@pytest.mark.parametrize(
    "family,dims,transform,estimator",
    [
        ("normal-dense", (3, 2), "wiggly", "gcmi"),  # exact for any monotone marginal map
        ("student-dense", (2, 2), "half-cube", "ksg"),
        ("uniform-noise", (1, 2), "asinh", "ksg"),
    ],
)
def test_generated_family_mi_agrees_with_a_high_sample_estimate(family, dims, transform, estimator):
    rng = np.random.default_rng(11)
    spec = random_task(rng, family=family, dims=dims, transform=transform, mi=0.6)
    if family == "student-dense":
        assert spec.nu < np.inf
    x, y = sample_task(spec, 20000, rng)
    if estimator == "ksg":  # on normal scores: KSG is biased on heavy tails, MI is unchanged
        x, y = copula_normalize(x), copula_normalize(y)
    est = estimate_mi(x, y, estimator=estimator).value
    assert est == pytest.approx(spec.mi, abs=0.05)


def test_generator_is_seeded_and_covers_its_range():
    a = random_dataset(np.random.default_rng(5))
    b = random_dataset(np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2].describe() == b[2].describe()
    cfg = MetaConfig()
    rng = np.random.default_rng(0)
    for _ in range(200):
        x, y, spec = random_dataset(rng, cfg)
        assert cfg.n_min <= len(x) <= cfg.n_max and x.shape[1] <= 8 and y.shape[1] <= 8
        assert 0 <= spec.mi <= cfg.mi_max + 1e-9 and np.isfinite(x).all() and np.isfinite(y).all()
        assert panel_overlap(spec) is None


def test_panel_tasks_are_excluded():
    # the stored canonical correlations are those of the panel tasks (their MI is BMI's truth)
    truths = {
        "1v1-normal-0.75": 0.41333928659223396,
        "multinormal-dense-5-5-0.5": 0.5928118328288701,
        "multinormal-sparse-5-5-2-2.0": 1.021651247531981,
    }
    for name, (_, rho) in PANEL_GAUSSIANS.items():
        assert gaussian_mi(np.asarray(rho)) == pytest.approx(truths[name], abs=1e-9)
    near = TaskSpec("normal-sparse", "asinh", 1, 1, 0.4, rho=np.array([0.76]))
    assert panel_overlap(near) == "1v1-normal-0.75"
    far = TaskSpec("normal-sparse", "none", 1, 1, 0.4, rho=np.array([0.6]))
    assert panel_overlap(far) is None
    t = TaskSpec("student-identity", "none", 5, 5, 0.45, rho=np.zeros(5), nu=2.2)
    assert panel_overlap(t) == "asinh-student-identity-5-5-2"
    with pytest.raises(ValueError, match="panel"):  # no draw can land on it
        random_task(
            np.random.default_rng(0), family="normal-sparse", dims=(1, 1), mi=0.4133, max_tries=20
        )


# ------------------------------------------------------------------------------ network


def _tiny_net() -> MISTNet:
    torch.manual_seed(0)
    return MISTNet(MISTConfig(width=16, heads=2, inducing=4, blocks=1, seeds=2, hidden=16)).eval()


def test_network_is_row_permutation_invariant_and_ignores_padding():
    net = _tiny_net()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((50, 2))
    perm = rng.permutation(50)
    with torch.no_grad():
        a = net(*pack([(x, y)], 8, "copula"))
        b = net(*pack([(x[perm], y[perm])], 8, "copula"))
        # padded beside a longer dataset: same answer for the short one
        c = net(
            *pack(
                [(x, y), (rng.standard_normal((90, 1)), rng.standard_normal((90, 4)))], 8, "copula"
            )
        )
    for u, v, w in zip(a, b, c, strict=True):
        torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(u, w[:1], rtol=1e-5, atol=1e-6)


def test_quantiles_are_monotone_in_tau_with_median_at_one_half():
    net = _tiny_net()
    tau = torch.linspace(0.001, 0.999, 201)
    for normalize_seed in range(3):
        rng = np.random.default_rng(normalize_seed)
        with torch.no_grad():
            med, w = net(
                *pack([(rng.standard_normal((40, 2)), rng.standard_normal((40, 2)))], 8, "copula")
            )
            # random weights, far from trained ones: monotone by construction
            w = w + torch.rand_like(w) * 5
            q = net.quantiles(med, w, tau)
            q_half = net.quantiles(med, w, torch.tensor([0.5]))
        assert (q[:, 1:] >= q[:, :-1]).all()
        torch.testing.assert_close(q_half[:, 0], med)


def test_pinball_loss_worked_example():
    q = torch.tensor([[0.0, 1.0, 3.0]])
    tau = torch.tensor([0.25, 0.5, 0.9])
    # target 2: errors 2, 1, -1 -> 0.25*2, 0.5*1, (0.9-1)*(-1)
    assert float(mist_model.pinball_loss(q, torch.tensor([2.0]), tau)) == pytest.approx(
        (0.5 + 0.5 + 0.1) / 3
    )


# ------------------------------------------------------------------------------ checkpoint


def test_shipped_checkpoint_loads_weights_only_with_its_record():
    ref = resources.files("infofusion.measures.mi").joinpath("weights", "mist.pt")
    with resources.as_file(ref) as path:
        assert path.stat().st_size < 4_000_000
        blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = MISTConfig(**blob["config"])
    net = MISTNet(cfg)
    net.load_state_dict(blob["state_dict"])  # strict: every weight present, none extra
    record = mist_module.training_record()
    assert record["config"] == blob["config"]
    assert record["seed"] == record["args"]["seed"]
    assert np.isfinite(record["final_validation"]["val_pinball"])
    assert {"torch", "numpy", "python"} <= set(record["versions"])


def test_bad_checkpoints_raise_format_errors(tmp_path):
    with pytest.raises(FormatError, match="no such"):
        create_estimator("mist", checkpoint=str(tmp_path / "missing.pt")).estimate(
            np.zeros((40, 1)) + np.arange(40)[:, None], np.arange(40.0)
        )
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(TaskSpec("normal-dense", "none", 1, 1, 0.0)))
    mist_module.load_network.cache_clear()
    with pytest.raises(FormatError, match="not a mist checkpoint"):
        mist_module.load_network(str(evil))


# ------------------------------------------------------------------------------ estimator


def _gaussian(n, d, rho, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y, -0.5 * d * np.log(1 - rho**2)


def test_estimate_is_invariant_to_row_order_including_chunked_samples():
    est = create_estimator("mist", views=2)
    for n in (200, 600):  # one chunk; two chunks of 256 (canonical order, then seeded)
        x, y, _ = _gaussian(n, 2, 0.6, seed=n)
        perm = np.random.default_rng(1).permutation(n)
        a, b = est.estimate(x, y), est.estimate(x[perm], y[perm])
        assert a.value == pytest.approx(b.value, abs=1e-5)
        assert a.ci == pytest.approx(b.ci, abs=1e-5)
    assert a.extra["chunks"] == 2 and a.n == 512


def test_known_gaussians_within_tolerance():
    # truth 0.51 (1 x 1, rho 0.8) and 0.67 (3 x 3, rho 0.6); 2 chunks of 256 rows each.
    # Tolerance: about the shipped checkpoint's validation MAE (0.15 nats, mist.json); an
    # untrained or broken network misses by far more, and its interval misses the truth.
    for d, rho in ((1, 0.8), (3, 0.6)):
        x, y, truth = _gaussian(512, d, rho, seed=d)
        est = estimate_mi(x, y, estimator="mist")
        assert est.value == pytest.approx(truth, abs=0.2)
        assert est.ci[0] <= truth <= est.ci[1]


def test_independence_is_near_zero():
    rng = np.random.default_rng(4)
    est = estimate_mi(
        rng.standard_normal((512, 3)), rng.standard_normal((512, 2)), estimator="mist"
    )
    assert est.value < 0.06
    assert est.ci[0] == 0.0


def test_monotone_maps_leave_the_estimate_unchanged():
    x, y, _ = _gaussian(300, 2, 0.7, seed=9)
    a = estimate_mi(x, y, estimator="mist", views=2)
    b = estimate_mi(np.exp(x), np.arcsinh(y) ** 3, estimator="mist", views=2)
    assert a.value == pytest.approx(b.value, abs=1e-5)


def test_inputs_outside_the_trained_range_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(EstimationError, match="at most 8 columns per side; y has 9"):
        estimate_mi(rng.standard_normal((100, 2)), rng.standard_normal((100, 9)), estimator="mist")
    with pytest.raises(EstimationError, match="at least 32"):
        estimate_mi(rng.standard_normal((20, 1)), rng.standard_normal((20, 1)), estimator="mist")
    with pytest.raises(EstimationError, match=r"x\[:, 1\] has 3 distinct"):
        x = np.c_[rng.standard_normal(100), rng.integers(0, 3, 100)]
        estimate_mi(x, rng.standard_normal(100), estimator="mist")


def test_cli_runs_mist(tmp_path):
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    x, y, _ = _gaussian(100, 1, 0.8, seed=0)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    res = CliRunner().invoke(
        app,
        [
            "mi",
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
            "-e",
            "mist",
            "--json",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["estimator"] == "mist" and out["ci_level"] == 0.95 and out["n"] == 100


@pytest.mark.slow
def test_training_script_writes_a_loadable_checkpoint(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "train_mist.py"
    spec = importlib.util.spec_from_file_location("train_mist", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(
        "--steps 3 --eval-every 2 --batch 4 --val-size 64 --width 8 --heads 2 --inducing 2 "
        "--blocks 1 --seeds 1 --hidden 8 --n-min 32 --n-max 48 --worker 0".split()
        + ["--out", str(tmp_path)]
    )
    record = json.loads((tmp_path / "mist.json").read_text())
    assert record["steps"] == 3 and [p["step"] for p in record["curve"]] == [2, 3]
    est = create_estimator("mist", checkpoint=str(tmp_path / "mist.pt"), views=1)
    result = est.estimate(*_gaussian(100, 1, 0.5, seed=0)[:2])
    assert result.extra["chunks"] == 2 and result.extra["chunk_size"] == 48


@pytest.mark.parametrize("module", [mist_module, mist_model])
def test_docstring_examples(module):
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
