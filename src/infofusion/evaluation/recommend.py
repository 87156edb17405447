"""Which fusion family suits a dataset, from its interaction profile.

The input is a dataset's partial information decomposition -- redundancy R, uniqueness U1 /
U2, synergy S with intervals (``infofusion analyze``) -- and the per-modality mutual
information. The output is a ranked list of method *families* with the reason for each.
Families and what they can express are declared by the methods themselves
(``FusionMethod.family``, ``FusionMethod.expresses_synergy``); this module never names a
method, so a method added later is placed by its declaration alone.

The rule (fixed in advance, not fitted to benchmark results):

1. **Synergy present** -- S (point estimate) is at least :data:`SYNERGY_SHARE` of the decomposed
   information: a family that cannot express synergy (a sum or vote of per-modality outputs:
   sign(f1(x1) + f2(x2)) cannot fit XOR; a unimodal model) is *excluded*; families that declare
   they can express it come first, undeclared ones after them. When S's interval reaches 0 the
   recommendation carries a note that the profile is uncertain (the plug-in estimators err low on
   synergy, so an interval touching 0 is common on XOR-like data of a few thousand samples).
2. **Redundancy dominates** (R >= :data:`DOMINANT_SHARE`): every fusion family fits; the additive
   ones (late sum, ensemble) come first -- as accurate on redundant information, cheaper, and
   they degrade gracefully when a modality is missing.
3. **One modality's uniqueness dominates** (U_k >= :data:`DOMINANT_SHARE`): the unimodal family on
   that modality first (cheapest, as informative), then the fusion families.
4. **Otherwise** (a mix): the families that can express every interaction come first, the
   additive ones next, unimodal last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Synergy is "present" when at least this share of the decomposed information.
SYNERGY_SHARE = 0.15
#: An atom "dominates" at this share or more.
DOMINANT_SHARE = 0.5
#: Below this much decomposed information (bits) a note says the profile says little.
LOW_INFORMATION_BITS = 0.05


@dataclass(frozen=True)
class FamilyInfo:
    """What the registered methods of one family declare."""

    name: str
    methods: tuple[str, ...]
    expresses_synergy: bool | None
    multimodal: bool


@dataclass
class Recommendation:
    """Ranked method families for one interaction profile.

    Attributes:
        ranked: ``[{"family", "methods", "reason", "tier"}]``, best first; families of equal
            ``tier`` are equally recommended (listed alphabetically).
        excluded: ``[{"family", "methods", "reason"}]``: families the profile rules out.
        rule: which case of the rule applied (``synergy``, ``redundancy``, ``uniqueness``, ``mixed``).
        shares: atom -> share of the decomposed information.
        atoms: atom -> (value, ci_low, ci_high) in ``unit``.
        mi: per-modality mutual information (``I1``, ``I2``, ``I12``) in ``unit``.
        unit: ``bits`` or ``nats``.
        modalities: the two modalities decomposed.
        notes: caveats (an interval that is not available, an undeclared family ...).
    """

    ranked: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    rule: str
    shares: dict[str, float]
    atoms: dict[str, tuple[float, float, float]]
    mi: dict[str, float]
    unit: str
    modalities: tuple[str, ...]
    notes: list[str] = field(default_factory=list)

    def families(self) -> list[str]:
        """Names of the ranked families, best first."""
        return [r["family"] for r in self.ranked]

    def top(self) -> list[str]:
        """The families of the first tier (equally recommended)."""
        return [r["family"] for r in self.ranked if r["tier"] == self.ranked[0]["tier"]] if self.ranked else []

    def as_dict(self) -> dict[str, Any]:
        return {"ranked": self.ranked, "excluded": self.excluded, "rule": self.rule, "shares": self.shares,
                "atoms": {k: list(v) for k, v in self.atoms.items()}, "mi": self.mi, "unit": self.unit,
                "modalities": list(self.modalities), "notes": self.notes}


def registered_families() -> list[FamilyInfo]:
    """Every family of the registered methods, with what its methods declare (a family whose
    methods disagree on ``expresses_synergy`` counts as undeclared)."""
    from infofusion.registry import get, list_components

    table: dict[str, list[Any]] = {}
    for name in list_components("method"):
        cls = get("method", name)
        table.setdefault(getattr(cls, "family", "other"), []).append((name, cls))
    out = []
    for fam, members in sorted(table.items()):
        syn = {getattr(c, "expresses_synergy", None) for _, c in members}
        out.append(FamilyInfo(fam, tuple(n for n, _ in members), syn.pop() if len(syn) == 1 else None,
                              any(bool(c.multimodal) for _, c in members)))
    return out


def _significant(atom: tuple[float, float, float]) -> bool:
    value, low, _ = atom
    return low > 0 if math.isfinite(low) else value > 0


def recommend_from_profile(
    atoms: Mapping[str, tuple[float, float, float]],
    mi: Mapping[str, float] | None = None,
    families: Sequence[FamilyInfo] | None = None,
    modalities: Sequence[str] = ("m1", "m2"),
    unit: str = "bits",
) -> Recommendation:
    """Apply the rule (module docstring) to one profile.

    Args:
        atoms: ``R``, ``U1``, ``U2``, ``S`` -> (value, ci_low, ci_high); NaN bounds when no
            interval is available.
        mi: ``I1``, ``I2``, ``I12`` (optional, shown in reasons).
        families: the families to rank (default: :func:`registered_families`).
        modalities: names of modality 1 and 2 (for the reasons).
        unit: unit of the atoms.

    Returns:
        :class:`Recommendation`.
    """
    from infofusion.errors import ConfigError

    missing = [a for a in ("R", "U1", "U2", "S") if a not in atoms]
    if missing:
        raise ConfigError(f"an interaction profile needs the atoms R, U1, U2, S; missing {', '.join(missing)}")
    fams = list(registered_families() if families is None else families)
    pos = {a: max(float(v[0]), 0.0) for a, v in atoms.items() if a in ("R", "U1", "U2", "S")}
    total = sum(pos.values())
    shares = {a: (v / total if total > 0 else 0.0) for a, v in pos.items()}
    notes: list[str] = []
    if any(not math.isfinite(v[1]) for v in atoms.values()):
        notes.append("no interval for some atoms: an atom counts as present when its value is above 0")
    if total <= 0:
        notes.append("the profile holds no information above 0: the data may carry nothing about the target")
    if 0 < total < LOW_INFORMATION_BITS * (1.0 if unit == "bits" else math.log(2.0)):
        notes.append(f"the two modalities decomposed carry almost no information about the target "
                     f"({total:.3f} {unit}): the ranking says little; with more modalities the information may "
                     "lie only in their joint combination, which a two-modality profile cannot see")
    mods = tuple(modalities)
    fmt = f"{{:.2f}} {unit}"
    s_txt = f"synergy {fmt.format(pos['S'])} of {fmt.format(total)}"
    ranked: list[tuple[float, dict[str, Any]]] = []
    excluded: list[dict[str, Any]] = []

    def add(f: FamilyInfo, score: float, reason: str) -> None:
        ranked.append((score, {"family": f.name, "methods": list(f.methods), "reason": reason, "tier": score}))

    if pos["S"] > 0 and shares["S"] >= SYNERGY_SHARE:
        rule = "synergy"
        if not _significant(atoms["S"]):
            notes.append(f"S's interval [{atoms['S'][1]:.3f}, {atoms['S'][2]:.3f}] reaches 0: synergy is the "
                         "point estimate's reading, not settled; more samples would settle it")
        for f in fams:
            if f.expresses_synergy is False:
                why = ("a unimodal model cannot express it" if not f.multimodal else
                       "this family declares it cannot express it (a sum or vote of per-modality "
                       "outputs, or a readout of one modality)")
                excluded.append({"family": f.name, "methods": list(f.methods), "reason": f"{s_txt}: {why}"})
            elif f.expresses_synergy:
                add(f, 2.0, f"{s_txt}: this family combines modalities before the decision and can express it")
            else:
                add(f, 1.0, f"{s_txt}: this family does not declare whether it can express synergy")
                notes.append(f"family '{f.name}' does not declare expresses_synergy")
    elif shares["R"] >= DOMINANT_SHARE:
        rule = "redundancy"
        r_txt = f"redundancy {fmt.format(pos['R'])} of {fmt.format(total)}"
        for f in fams:
            if not f.multimodal:
                add(f, 1.0, f"{r_txt}: one modality alone is nearly as informative, but fusion keeps working when one is corrupted")
            elif f.expresses_synergy is False:
                add(f, 3.0, f"{r_txt}: this family does not model synergy, which redundant information does not need: "
                                    "as accurate here with less capacity (check its missing-modality curve before relying on it)")
            else:
                add(f, 2.0, f"{r_txt}: fits, but its extra capacity buys little on redundant information")
    elif max(shares["U1"], shares["U2"]) >= DOMINANT_SHARE:
        rule = "uniqueness"
        k = 0 if shares["U1"] >= shares["U2"] else 1
        atom = ("U1", "U2")[k]
        u_txt = f"uniqueness of {mods[k]} {fmt.format(pos[atom])} of {fmt.format(total)}"
        for f in fams:
            if not f.multimodal:
                add(f, 3.0, f"{u_txt}: a model of {mods[k]} alone carries most of the information at the lowest cost")
            elif f.expresses_synergy:
                add(f, 2.0, f"{u_txt}: fusion should match the {mods[k]} model; it can also use the smaller other atoms")
            else:
                add(f, 1.5 if f.expresses_synergy is False else 1.0,
                    f"{u_txt}: fusion should match the {mods[k]} model; check it is not hurt by {mods[1 - k]}")
    else:
        rule = "mixed"
        m_txt = ", ".join(f"{a} {100 * shares[a]:.0f} %" for a in ("R", "U1", "U2", "S"))
        for f in fams:
            if not f.multimodal:
                add(f, 0.5, f"mixed profile ({m_txt}): one modality misses the other's unique information")
            elif f.expresses_synergy:
                add(f, 2.0, f"mixed profile ({m_txt}): can express every kind of interaction")
            elif f.expresses_synergy is False:
                add(f, 1.5, f"mixed profile ({m_txt}): uses both modalities' unique information; the small synergy is lost")
            else:
                add(f, 1.0, f"mixed profile ({m_txt}): does not declare whether it can express synergy")
    ranked.sort(key=lambda t: (-t[0], t[1]["family"]))
    return Recommendation([r for _, r in ranked], excluded, rule, shares,
                          {a: tuple(float(x) for x in v) for a, v in atoms.items()},  # type: ignore[misc]
                          {k: float(v) for k, v in (mi or {}).items()}, unit, mods, notes)
