"""Synthetic suite with known interaction structure (redundancy, uniqueness, synergy, mixtures).

Every sample has a binary label ``y`` and an interaction type that says how ``y`` is carried by
the modalities. Each modality ``m`` holds discrete latent bits -- a shared bit ``r``, its own
unique bit ``u_m`` and its own synergy bit ``s_m`` -- plus a one-hot code of the sample's type
and a few continuous nuisance factors, pushed through a random one-hidden-layer ``tanh`` map
(fixed by the seed) and Gaussian noise. The type decides which bits are tied to the label:

==============  ===========================================================================
type            label rule (all other bits are independent fair coins)
==============  ===========================================================================
redundancy      ``y = r`` (``r`` is seen by every modality)
uniqueness<k>   ``y = u_k`` (seen by modality ``m<k>`` only)
synergy         ``y = s_1 xor s_2 (xor s_3)``: every proper subset of modalities is
                independent of ``y``, all of them together determine it
==============  ===========================================================================

Because the type code is visible in every modality, ``y`` is a function of all modalities
together (up to the embedding noise), and each sample's interaction type is well defined; it is
stored in ``sample_meta["interaction"]``. The latent bits are kept in ``sample_meta["latent"]``
(columns named by ``info["latent_names"]``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset, check_fractions
from infofusion.errors import ConfigError
from infofusion.registry import register

__all__ = ["IMBALANCE_TASKS", "TASKS", "known_atoms", "latent_atoms", "latent_joint", "synthetic"]

# task -> (number of modalities, interaction type -> proportion)
TASKS: dict[str, tuple[int, dict[str, float]]] = {
    "redundancy": (2, {"redundancy": 1.0}),
    "uniqueness1": (2, {"uniqueness1": 1.0}),
    "uniqueness2": (2, {"uniqueness2": 1.0}),
    "synergy": (2, {"synergy": 1.0}),
    "mixed": (2, {"redundancy": 0.25, "uniqueness1": 0.25, "uniqueness2": 0.25, "synergy": 0.25}),
    "redundancy3": (3, {"redundancy": 1.0}),
    "uniqueness3": (3, {"uniqueness1": 1.0}),
    "synergy3": (3, {"synergy": 1.0}),
    "mixed3": (
        3,
        {
            "redundancy": 0.2,
            "uniqueness1": 0.2,
            "uniqueness2": 0.2,
            "uniqueness3": 0.2,
            "synergy": 0.2,
        },
    ),
}

# Known dataset-level PID atoms (bits) of the noise-free two-modality tasks.
_PID_BITS: dict[str, dict[str, float]] = {
    "redundancy": {"redundancy": 1.0, "unique1": 0.0, "unique2": 0.0, "synergy": 0.0},
    "uniqueness1": {"redundancy": 0.0, "unique1": 1.0, "unique2": 0.0, "synergy": 0.0},
    "uniqueness2": {"redundancy": 0.0, "unique1": 0.0, "unique2": 1.0, "synergy": 0.0},
    "synergy": {"redundancy": 0.0, "unique1": 0.0, "unique2": 0.0, "synergy": 1.0},
}

_REFERENCE_SAMPLES = 4096  # latents used to fix the scale of each embedding (independent of n)
_OPTIONS = ("proportions", "fractions", "hidden", "n_nuisance", "type_scale", "clean")
# Corruption options (ground truth in sample_meta["corrupted"]) and the tasks that preset them:
# task -> (base task, options).
_CORRUPTION_OPTIONS = ("noise_modalities", "corrupt", "corrupt_fraction")
CORRUPTED_TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    "mixed_noise": ("mixed", {"noise_modalities": 1}),
    "mixed3_partial": ("mixed3", {"corrupt": "m3", "corrupt_fraction": 0.3}),
}



def _number(key: str, value: Any, kind: type) -> Any:
    """``value`` as an int/float option of the generator, or a ConfigError naming ``key``."""
    try:
        if isinstance(value, (bool, str)) or value is None:
            raise TypeError
        out = kind(value)
        if kind is int and float(value) != out:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        what = "an integer" if kind is int else "a number"
        raise ConfigError(f"synthetic: option '{key}' must be {what}, got {value!r}") from None
    return out


def _embedding(
    rng: np.random.Generator, n_in: int, hidden: int, dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Gain 1.5 / sqrt(n_in) puts the tanh units in their bent (not linear, not saturated) range.
    w1 = rng.normal(0.0, 1.5 / np.sqrt(n_in), size=(n_in, hidden))
    b1 = rng.normal(0.0, 0.5, size=hidden)
    w2 = rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(hidden, dim))
    return w1, b1, w2


def _latent_inputs(
    type_idx: np.ndarray,
    bits: np.ndarray,
    nuisance: np.ndarray,
    n_types: int,
    type_scale: float,
) -> np.ndarray:
    """Inputs of one modality's embedding: ``(N, n_types + 3 + n_nuisance)``."""
    onehot = np.eye(n_types)[type_idx] * type_scale
    return np.concatenate([onehot, 2.0 * bits - 1.0, nuisance], axis=1)


@register("dataset", "synthetic")
def synthetic(
    arg: str | None = None,
    n: int = 4000,
    seed: int = 0,
    dim: int = 16,
    noise: float = 0.2,
    **kw: Any,
) -> MultimodalDataset:
    """Synthetic binary task with known interaction structure (``synthetic:<task>``).

    Tasks (modalities ``m1``, ``m2`` and, for the ``*3`` tasks, ``m3``), with the known
    information atoms of the noise-free latent task in bits (``I(X; Y) = 1`` bit in total):

    * ``redundancy``: each modality carries the label bit -- R = 1, U1 = U2 = S = 0.
    * ``uniqueness1`` / ``uniqueness2``: only ``m1`` / ``m2`` carries it -- U1 = 1 / U2 = 1.
    * ``synergy``: XOR of one bit per modality; each modality alone is at chance -- S = 1.
    * ``mixed`` (default): a quarter of the samples of each type. I(X1, X2; Y) = 1,
      I(X1; Y) = I(X2; Y) = 0.5; by construction each type contributes 0.25 bit to its atom
      (R = U1 = U2 = S = 0.25). Dataset-level PID measures may split it differently (e.g.
      I_min gives R = S = 0.5), which is why the per-sample types are recorded.
    * ``redundancy3``: all three carry the label -- the {1}{2}{3} atom is 1 bit.
    * ``uniqueness3``: three modalities, only ``m1`` carries the label -- {1} = 1 bit.
    * ``synergy3``: 3-way XOR; every pair is at chance -- the {123} atom is 1 bit.
    * ``mixed3``: a fifth each of redundancy, uniqueness1/2/3 and (3-way) synergy.
    * ``mixed_noise``: ``mixed`` (same ``m1``, ``m2``, labels and splits) plus ``m3``, pure
      noise independent of everything.
    * ``mixed3_partial``: ``mixed3`` whose ``m3`` is replaced by noise on a random 30 % of the
      samples (known: ``sample_meta["corrupted"]``).

    Corruption options (any task): ``noise_modalities`` (extra pure-noise modalities),
    ``corrupt`` (a modality) and ``corrupt_fraction``; the ground truth is
    ``sample_meta["corrupted"]``, ``(N, M)`` bool, ``[i, m]`` true when modality ``m`` is noise
    on sample ``i``.

    Embedding noise lowers all of these a little while the structural chance levels stay exact
    (a modality that carries nothing about ``y`` is independent of it). With the defaults a
    joint MLP reaches about 0.98 test accuracy on ``synergy`` and 0.95 on ``mixed``; the 3-way
    XOR of ``synergy3`` needs more samples or less noise to be learnt well.

    Args:
        arg: task name (see above); ``None`` means ``"mixed"``.
        n: number of samples.
        seed: fixes the embeddings, the samples and the splits (same seed -> same arrays).
        dim: feature dimension of every modality.
        noise: standard deviation of the Gaussian noise added to the unit-scale features.
        **kw: ``proportions`` (type -> weight, overrides the task's mixture), ``fractions``
            (train/valid/test, default ``(0.6, 0.2, 0.2)``, stratified by label), ``hidden``
            (width of the random map, default ``2 * dim``), ``n_nuisance`` (continuous nuisance
            factors per modality, default 4), ``type_scale`` (amplitude of the type code,
            default 2), ``clean`` (the noise-free variant: ``noise = 0`` and no nuisance
            factors, so each modality is an invertible function of its latent symbol and the
            PID of the features equals the PID of the latents, ``info["latent_pid_bits"]``).

    Returns:
        A classification :class:`MultimodalDataset` with int64 labels, ``(N, dim)`` float32
        modalities, splits ``train``/``valid``/``test``, ``sample_meta["interaction"]`` (type
        name per sample) and ``sample_meta["latent"]`` ``(N, 2 + 2 * M)`` int8 latents (type index,
        ``r``, ``u_1..u_M``, ``s_1..s_M``; names in ``info["latent_names"]``).

    Raises:
        ConfigError: unknown task or option, or an invalid value.
    """
    task = "mixed" if arg in (None, "") else str(arg)
    if task in IMBALANCE_TASKS:
        return _imbalance(task, n=n, seed=seed, dim=dim, noise=noise, **kw)
    base = task
    if task in CORRUPTED_TASKS:
        base, preset = CORRUPTED_TASKS[task]
        kw = {**preset, **kw}
    if base not in TASKS:
        raise ConfigError(
            f"unknown synthetic task {task!r} (available: {', '.join([*TASKS, *CORRUPTED_TASKS, *IMBALANCE_TASKS])})"
        )
    unknown = sorted(set(kw) - set(_OPTIONS) - set(_CORRUPTION_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) for synthetic: {', '.join(unknown)} "
            f"(available: n, seed, dim, noise, {', '.join(_OPTIONS + _CORRUPTION_OPTIONS)})"
        )
    corruption = {k: kw.pop(k) for k in _CORRUPTION_OPTIONS if k in kw}
    n_mod, default_props = TASKS[base]
    raw_props = kw.get("proportions") or default_props
    if not isinstance(raw_props, Mapping):
        raise ConfigError(f"synthetic: proportions must map types to weights, got {raw_props!r}")
    props = {t: _number("proportions", w, float) for t, w in raw_props.items()}
    fractions = check_fractions(kw.get("fractions", (0.6, 0.2, 0.2)))
    n, dim, seed = (_number(k, v, int) for k, v in (("n", n), ("dim", dim), ("seed", seed)))
    noise = _number("noise", noise, float)
    hidden = _number("hidden", kw.get("hidden") or 2 * dim, int)
    noise_free = bool(kw.get("clean", False))
    n_nuisance = 0 if noise_free else _number("n_nuisance", kw.get("n_nuisance", 4), int)
    if noise_free:
        noise = 0.0
    type_scale = _number("type_scale", kw.get("type_scale", 2.0), float)
    if seed < 0:
        raise ConfigError(f"synthetic: seed must be >= 0, got {seed}")
    if n < 20:
        raise ConfigError(f"synthetic: n must be at least 20, got {n}")
    if dim < 1 or hidden < 1 or n_nuisance < 0:
        raise ConfigError(
            f"synthetic: dim, hidden must be >= 1 and n_nuisance >= 0 (got {dim}, {hidden}, "
            f"{n_nuisance})"
        )
    if not np.isfinite(noise) or noise < 0:
        raise ConfigError(f"synthetic: noise must be a finite value >= 0, got {noise}")
    valid_types = {"redundancy", "synergy"} | {f"uniqueness{k + 1}" for k in range(n_mod)}
    bad = [t for t in props if t not in valid_types]
    if bad or not props or any(w < 0 for w in props.values()) or sum(props.values()) <= 0:
        raise ConfigError(
            f"synthetic: proportions must map types among {sorted(valid_types)} to "
            f"non-negative weights with a positive sum, got {props}"
        )
    types = list(props)
    weights = np.array([props[t] for t in types], dtype=np.float64)
    weights /= weights.sum()

    # Independent streams: the embeddings do not depend on n, the samples do not depend on
    # the embedding parameters' draw order.
    emb_ss, ref_ss, data_ss = np.random.SeedSequence(seed).spawn(3)
    emb_rng, ref_rng, rng = (np.random.default_rng(s) for s in (emb_ss, ref_ss, data_ss))
    n_types = len(types)
    n_in = n_types + 3 + n_nuisance
    maps = [_embedding(emb_rng, n_in, hidden, dim) for _ in range(n_mod)]

    def draw(gen: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
        t_idx = gen.choice(n_types, size=count, p=weights)
        y = gen.integers(0, 2, size=count)
        r = gen.integers(0, 2, size=count)
        u = gen.integers(0, 2, size=(count, n_mod))
        s = gen.integers(0, 2, size=(count, n_mod))
        for k, tname in enumerate(types):
            sel = t_idx == k
            if tname == "redundancy":
                r[sel] = y[sel]
            elif tname == "synergy":
                # last bit completes the parity: any proper subset of bits is independent of y
                s[sel, -1] = (y[sel] + s[sel, :-1].sum(axis=1)) % 2
            else:
                u[sel, int(tname[len("uniqueness") :]) - 1] = y[sel]
        z = gen.normal(size=(count, n_mod, n_nuisance))
        return t_idx, y, r, u, s, z

    def embed(m: int, t_idx, r, u, s, z) -> np.ndarray:
        w1, b1, w2 = maps[m]
        bits = np.stack([r, u[:, m], s[:, m]], axis=1).astype(np.float64)
        inp = _latent_inputs(t_idx, bits, z[:, m], n_types, type_scale)
        return np.tanh(inp @ w1 + b1) @ w2

    ref = draw(ref_rng, _REFERENCE_SAMPLES)
    t_idx, y, r, u, s, z = draw(rng, n)
    modalities: dict[str, np.ndarray] = {}
    for m in range(n_mod):
        ref_x = embed(m, ref[0], *ref[2:])
        center, scale = ref_x.mean(axis=0), ref_x.std()
        clean = (embed(m, t_idx, r, u, s, z) - center) / scale
        modalities[f"m{m + 1}"] = (clean + noise * rng.normal(size=clean.shape)).astype(np.float32)

    latent_names = ["type", "r"] + [f"u{m + 1}" for m in range(n_mod)]
    latent_names += [f"s{m + 1}" for m in range(n_mod)]
    latent = np.concatenate([t_idx[:, None], r[:, None], u, s], axis=1).astype(np.int8)
    info: dict[str, Any] = {
        "task": task,
        "seed": seed,
        "noise": noise,
        "protocol": "classification",
        "interaction_proportions": {t: float(w) for t, w in zip(types, weights, strict=True)},
        "latent_names": latent_names,
        "generator": {
            "n": n,
            "dim": dim,
            "noise": noise,
            "hidden": hidden,
            "n_nuisance": n_nuisance,
            "type_scale": type_scale,
            "fractions": list(fractions),
        },
    }
    info["clean"] = noise_free
    # exact BROJA atoms of (latent of m1, latent of m2; y): what a perfect estimator recovers
    # from the noise-free variant
    # (of the base task: a corruption of m1 or m2 changes the features' atoms, so none are given)
    pair_intact = corruption.get("corrupt") not in ("m1", "m2")
    if pair_intact:
        info["latent_pid_bits"] = latent_atoms(base, {t: float(w) for t, w in zip(types, weights, strict=True)})
        if base in _PID_BITS:
            info["pid_bits"] = dict(_PID_BITS[base])
        elif base == "mixed" and not kw.get("proportions"):
            info["pid_bits"] = {"redundancy": 0.25, "unique1": 0.25, "unique2": 0.25, "synergy": 0.25}
    meta: dict[str, Any] = {}
    if corruption:
        meta["corrupted"] = _corrupt(modalities, corruption, seed, n, dim)
        info["base_task"] = base
        info["corruption"] = dict(corruption)
    ds = MultimodalDataset(
        modalities,
        y.astype(np.int64),
        task="classification",
        n_classes=2,
        name=f"synthetic:{task}",
        sample_meta={
            "interaction": np.array(types, dtype=str)[t_idx],
            "latent": latent,
            **meta,
        },
        info=info,
    )
    return ds.random_splits(fractions, seed=seed, stratify=True)  # type: ignore[arg-type]


def _corrupt(modalities: dict[str, np.ndarray], options: Mapping[str, Any], seed: int, n: int, dim: int) -> np.ndarray:
    """Apply the corruption options in place; returns the ``(N, M)`` bool ground truth
    (``[i, m]``: modality ``m`` is noise on sample ``i``), columns in modality order.

    * ``noise_modalities=k``: append ``k`` modalities of pure ``N(0, 1)`` noise (independent of
      everything; corrupted on every sample).
    * ``corrupt=<modality>``, ``corrupt_fraction=f``: replace that modality's features by
      ``N(0, 1)`` noise (the clean features' overall scale) on a random fraction ``f`` of the
      samples.

    The noise comes from its own stream, so the clean modalities equal the base task's.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(101,)))
    k = _number("noise_modalities", options.get("noise_modalities", 0), int)
    target = options.get("corrupt")
    frac = _number("corrupt_fraction", options.get("corrupt_fraction", 0.3 if target is not None else 0.0), float)
    if k < 0 or not 0.0 <= frac <= 1.0:
        raise ConfigError(f"synthetic: noise_modalities must be >= 0 and corrupt_fraction in [0, 1], got {k}, {frac}")
    if target is not None and target not in modalities:
        raise ConfigError(f"synthetic: corrupt names unknown modality {target!r} (available: {', '.join(modalities)})")
    first = len(modalities)
    for j in range(k):
        modalities[f"m{first + j + 1}"] = rng.normal(size=(n, dim)).astype(np.float32)
    names = list(modalities)
    flags = np.zeros((n, len(names)), dtype=bool)
    flags[:, first:] = True
    if target is not None:
        sel = rng.random(n) < frac
        x = modalities[target]
        x[sel] = rng.normal(size=(int(sel.sum()), x.shape[1])).astype(np.float32)
        flags[sel, names.index(target)] = True
    return flags


def known_atoms(task: str) -> Mapping[str, float] | None:
    """Known dataset-level PID atoms (bits) of a two-modality task, ``None`` if not closed."""
    return _PID_BITS.get(task)


def latent_joint(task: str, proportions: Mapping[str, float] | None = None) -> np.ndarray:
    """Exact joint ``P(L1, L2, Y)`` of the latent symbols of ``m1`` and ``m2`` and the label.

    The latent symbol of modality ``m`` is ``(type, r, u_m, s_m)`` (``n_types * 8`` values,
    index ``type * 8 + 4 r + 2 u_m + s_m``): everything its embedding is computed from apart
    from the continuous nuisance factors. Computed by enumerating every type, label and bit
    combination with its probability.

    Args:
        task: a name of :data:`TASKS`.
        proportions: type -> weight (default: the task's mixture).

    Returns:
        ``(8 n_types, 8 n_types, 2)`` array summing to one.
    """
    if task not in TASKS:
        raise ConfigError(f"unknown synthetic task {task!r} (available: {', '.join(TASKS)})")
    n_mod, default_props = TASKS[task]
    props = dict(proportions or default_props)
    types = list(props)
    w = np.array([props[t] for t in types], dtype=np.float64)
    w = w / w.sum()
    n_bits = 1 + 2 * n_mod  # r, u_1..u_M, s_1..s_M
    p = np.zeros((8 * len(types), 8 * len(types), 2))
    for ti, tname in enumerate(types):
        for y in (0, 1):
            for code in range(2**n_bits):
                bits = [(code >> j) & 1 for j in range(n_bits)]
                r, u, sy = bits[0], bits[1 : 1 + n_mod], bits[1 + n_mod :]
                # the type ties one bit to y; the others are fair coins
                if tname == "redundancy" and r != y:
                    continue
                if tname.startswith("uniqueness") and u[int(tname[len("uniqueness"):]) - 1] != y:
                    continue
                if tname == "synergy" and sum(sy) % 2 != y:
                    continue
                l1 = ti * 8 + 4 * r + 2 * u[0] + sy[0]
                l2 = ti * 8 + 4 * r + 2 * u[1] + sy[1]
                # y uniform; given the tie, the remaining n_bits - 1 bits are uniform
                p[l1, l2, y] += w[ti] * 0.5 / 2 ** (n_bits - 1)
    return p / p.sum()


_LATENT_CACHE: dict[tuple, dict[str, float]] = {}


def latent_atoms(task: str, proportions: Mapping[str, float] | None = None) -> dict[str, float]:
    """BROJA atoms (bits) of ``(latent of m1, latent of m2; y)``, by the exact solver.

    For two-modality tasks these are the atoms of the noise-free variant (``clean=True``); for
    the three-modality ones, those of the pair ``m1, m2`` (e.g. 0 for every atom of ``synergy3``,
    whose pairs carry nothing about ``y``). Cached.
    """
    key = (task, tuple(sorted((proportions or {}).items())))
    if key not in _LATENT_CACHE:
        from infofusion.measures.pid.broja import BrojaPID

        res = BrojaPID(progress=False).decompose(latent_joint(task, proportions))
        _LATENT_CACHE[key] = {k: round(v, 12) + 0.0 for k, v in res.atoms().items()}
    return dict(_LATENT_CACHE[key])


# --------------------------------------------------------------------------- imbalance tasks
# The "lazy modality" regime: m1 is easy (a linear bit with a wide margin, learned in an epoch or
# two) but carries the label only on a fraction of the samples; m2 carries it on every sample but
# as the parity of four noisy bits (learned slowly). The two strengths differ in how much of the
# task the easy modality explains (its informative fraction); m2 is the same in both.
IMBALANCE_TASKS: dict[str, dict[str, float]] = {
    "imbalance": {"informative": 0.7},
    "imbalance_strong": {"informative": 0.85},
}
_IMBALANCE_OPTIONS = ("informative", "weak_margin", "strong_margin", "parity", "fractions")


def _rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))  # a uniformly random orthogonal matrix


def _parity_posterior(x: np.ndarray, margin: float, sigma: float) -> np.ndarray:
    """P(parity of the bits = 1 | noisy coordinates ``x`` (N, k) = margin * (2 s - 1) + noise)."""
    t = np.tanh(margin * x / sigma**2)  # E[2 s_i - 1 | x_i]
    return 0.5 * (1.0 - np.prod(-t, axis=1)) if x.shape[1] % 2 else 0.5 * (1.0 - np.prod(t, axis=1))


@functools.lru_cache(maxsize=32)
def imbalance_bayes_accuracy(informative: float, weak_margin: float, parity: int, noise: float) -> dict[str, float]:
    """Bayes accuracies of an imbalance task: each modality alone (closed form) and both together
    (Monte Carlo with 200 000 draws from a fixed stream, so the value is reproducible)."""
    sigma = float(np.sqrt(1.0 + noise**2))
    q = 0.5 * (1.0 + math.erf(weak_margin / sigma / math.sqrt(2.0)))  # one bit read correctly
    acc2 = 0.5 * (1.0 + (2.0 * q - 1.0) ** parity)
    acc1 = 0.5 * (1.0 + informative)
    rng = np.random.default_rng(12345)
    m = 200_000
    y = rng.integers(0, 2, m)
    s = rng.integers(0, 2, (m, parity))
    s[:, -1] = (y + s[:, :-1].sum(axis=1)) % 2
    x = weak_margin * (2 * s - 1) + sigma * rng.normal(size=s.shape)
    p1 = np.clip(_parity_posterior(x, weak_margin, sigma), 1e-12, 1 - 1e-12)
    b1 = np.where(rng.random(m) < informative, y, rng.integers(0, 2, m))
    odds1 = np.where(b1 == 1, 1.0, -1.0) * np.log((1.0 + informative) / max(1.0 - informative, 1e-12))
    fused = (np.log(p1) - np.log1p(-p1) + odds1) > 0
    return {"m1": acc1, "m2": acc2, "fused": float((fused == y).mean())}


def _imbalance(task: str, n: int, seed: int, dim: int, noise: float, **kw: Any) -> MultimodalDataset:
    """An imbalance task (``synthetic:imbalance``, ``synthetic:imbalance_strong``).

    ``y`` is a fair bit. **m1** (strong, fast) holds one coordinate ``strong_margin * (2 b - 1)``
    with ``b = y`` on a fraction ``informative`` of the samples and a fair coin elsewhere, beside
    ``dim - 1`` standard-normal nuisance coordinates, the whole rotated by a random orthogonal
    matrix: a linear read-out gets the label right on ``(1 + informative) / 2`` of the samples
    within an epoch or two, and the nuisance lets a network memorise the rest. **m2** (weak, slow)
    holds ``parity`` bits whose parity is ``y``, each as ``weak_margin * (2 s_i - 1)`` plus unit
    Gaussian noise, beside ``dim - parity`` nuisance coordinates, rotated likewise: it carries the
    label on *every* sample, but as a parity of noisy bits, which gradient training picks up
    slowly. On the samples where m1's bit is a coin only m2 carries the label; m2 also breaks the
    ties elsewhere, so the two together beat either one (``info["bayes_accuracy"]``).

    Every coordinate gets ``noise`` Gaussian noise on top. Per-sample ground truth:
    ``sample_meta["interaction"]`` is ``redundancy`` where both modalities carry the label and
    ``uniqueness2`` where only m2 does; ``sample_meta["latent"]`` holds ``(m1_informative, b,
    s_1..s_k)`` (names in ``info["latent_names"]``). ``info`` names the ``strong_modality`` and
    the ``weak_modality``.
    """
    unknown = sorted(set(kw) - set(_IMBALANCE_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) for synthetic:{task}: {', '.join(unknown)} "
            f"(available: n, seed, dim, noise, {', '.join(_IMBALANCE_OPTIONS)})"
        )
    params = {"weak_margin": 2.0, "strong_margin": 3.0, "parity": 4, **IMBALANCE_TASKS[task]}
    params.update({k: v for k, v in kw.items() if k in params})
    informative, weak_margin = float(params["informative"]), float(params["weak_margin"])
    strong_margin, parity = float(params["strong_margin"]), int(params["parity"])
    fractions = tuple(kw.get("fractions", (0.6, 0.2, 0.2)))
    n, dim, seed, noise = int(n), int(dim), int(seed), float(noise)
    if n < 20:
        raise ConfigError(f"synthetic:{task}: n must be at least 20, got {n}")
    if not 0.0 <= informative <= 1.0:
        raise ConfigError(f"synthetic:{task}: informative must be in [0, 1], got {informative}")
    if parity < 1 or dim < parity + 1:
        raise ConfigError(f"synthetic:{task}: need parity >= 1 and dim >= parity + 1, got parity={parity}, dim={dim}")
    if weak_margin <= 0 or strong_margin <= 0 or not np.isfinite(noise) or noise < 0:
        raise ConfigError(
            f"synthetic:{task}: margins must be > 0 and noise >= 0 (got weak_margin={weak_margin}, "
            f"strong_margin={strong_margin}, noise={noise})"
        )
    rot_ss, data_ss = np.random.SeedSequence([seed, 0x1B]).spawn(2)
    rot_rng, rng = np.random.default_rng(rot_ss), np.random.default_rng(data_ss)
    rot1, rot2 = _rotation(rot_rng, dim), _rotation(rot_rng, dim)
    y = rng.integers(0, 2, n)
    informs = rng.random(n) < informative
    b = np.where(informs, y, rng.integers(0, 2, n))
    s = rng.integers(0, 2, (n, parity))
    s[:, -1] = (y + s[:, :-1].sum(axis=1)) % 2
    z1 = np.concatenate([strong_margin * (2 * b[:, None] - 1), rng.normal(size=(n, dim - 1))], axis=1)
    z2 = np.concatenate(
        [weak_margin * (2 * s - 1) + rng.normal(size=s.shape), rng.normal(size=(n, dim - parity))], axis=1
    )
    x1 = z1 @ rot1 + noise * rng.normal(size=(n, dim))
    x2 = z2 @ rot2 + noise * rng.normal(size=(n, dim))
    latent_names = ["m1_informative", "b"] + [f"s{i + 1}" for i in range(parity)]
    latent = np.concatenate([informs[:, None], b[:, None], s], axis=1).astype(np.int8)
    info: dict[str, Any] = {
        "task": task,
        "seed": seed,
        "noise": noise,
        "protocol": "classification",
        "strong_modality": "m1",
        "weak_modality": "m2",
        "latent_names": latent_names,
        "bayes_accuracy": imbalance_bayes_accuracy(informative, weak_margin, parity, noise),
        "generator": {
            "n": n, "dim": dim, "noise": noise, "informative": informative, "weak_margin": weak_margin,
            "strong_margin": strong_margin, "parity": parity, "fractions": list(fractions),
        },
    }
    ds = MultimodalDataset(
        {"m1": x1.astype(np.float32), "m2": x2.astype(np.float32)},
        y.astype(np.int64),
        task="classification",
        n_classes=2,
        name=f"synthetic:{task}",
        sample_meta={"interaction": np.where(informs, "redundancy", "uniqueness2"), "latent": latent},
        info=info,
    )
    return ds.random_splits(fractions, seed=seed, stratify=True)  # type: ignore[arg-type]
