"""The recommendation rule: families come from method declarations, synergy excludes the
families that cannot express it, and each case of the rule ranks as documented."""

from __future__ import annotations

import math

import pytest

from infofusion.errors import ConfigError
from infofusion.evaluation.recommend import FamilyInfo, recommend_from_profile, registered_families

NAN = math.nan
FAMS = [
    FamilyInfo("additive", ("sum",), False, True),
    FamilyInfo("crossed", ("outer",), True, True),
    FamilyInfo("mystery", ("new",), None, True),
    FamilyInfo("single", ("one",), False, False),
]


def _atoms(r=0.0, u1=0.0, u2=0.0, s=0.0, ci=True):
    return {a: (v, v - 0.05 if ci else NAN, v + 0.05 if ci else NAN) for a, v in
            (("R", r), ("U1", u1), ("U2", u2), ("S", s))}


def test_synergy_excludes_every_family_that_cannot_express_it():
    rec = recommend_from_profile(_atoms(r=0.05, s=0.6), families=FAMS)
    assert rec.rule == "synergy"
    assert rec.families() == ["crossed", "mystery"]  # declared first, undeclared after
    assert {e["family"] for e in rec.excluded} == {"additive", "single"}
    assert "synergy 0.60 bits of 0.65 bits" in rec.ranked[0]["reason"]
    assert "cannot express" in rec.excluded[0]["reason"]
    assert rec.shares["S"] == pytest.approx(0.6 / 0.65)


def test_synergy_below_the_share_or_uncertain():
    rec = recommend_from_profile(_atoms(r=0.9, s=0.1), families=FAMS)  # 10 %: not the synergy case
    assert rec.rule == "redundancy" and rec.families()[0] == "additive"
    unsure = recommend_from_profile({**_atoms(s=0.3), "S": (0.3, 0.0, 0.5)}, families=FAMS)
    assert unsure.rule == "synergy" and any("reaches 0" in n for n in unsure.notes)


def test_redundancy_uniqueness_and_mixed_cases():
    red = recommend_from_profile(_atoms(r=0.8, u1=0.1), families=FAMS)
    assert red.rule == "redundancy" and red.families() == ["additive", "crossed", "mystery", "single"]
    uni = recommend_from_profile(_atoms(u2=0.7, r=0.1), families=FAMS, modalities=("audio", "video"))
    assert uni.rule == "uniqueness" and uni.families()[0] == "single"
    assert "video" in uni.ranked[0]["reason"]
    mixed = recommend_from_profile(_atoms(r=0.3, u1=0.3, u2=0.3, s=0.1), families=FAMS)
    assert mixed.rule == "mixed" and mixed.families() == ["crossed", "additive", "mystery", "single"]
    assert not mixed.excluded
    with pytest.raises(ConfigError, match="S"):
        recommend_from_profile({"R": (1, 0, 2)}, families=FAMS)


def test_registered_families_come_from_method_declarations():
    from infofusion.registry import get

    fams = {f.name: f for f in registered_families()}
    for f in fams.values():
        for m in f.methods:
            assert get("method", m).family == f.name


def test_recommendation_on_synthetic_synergy_never_names_a_family_that_cannot_express_synergy():
    import torch

    from infofusion.api import recommend
    from infofusion.registry import get

    torch.set_num_threads(1)
    rec = recommend("synthetic:synergy", n=1000, n_boot=20)
    assert rec.rule == "synergy"
    assert rec.ranked
    for r in rec.ranked:
        for m in r["methods"]:
            assert get("method", m).expresses_synergy is not False, (r["family"], m)
    assert {e["family"] for e in rec.excluded} >= {"late", "unimodal"}


def test_recommend_command_prints_atoms_ranking_and_ruled_out_families(monkeypatch):
    from typer.testing import CliRunner

    import infofusion.api as api
    from infofusion.cli.main import app

    seen = {}

    def fake(data, **kw):
        seen.update(kw, data=data)
        return recommend_from_profile(_atoms(r=0.05, s=0.6), {"I1": 0.0, "I2": 0.0, "I12": 0.65}, families=FAMS)

    monkeypatch.setattr(api, "recommend", fake)
    res = CliRunner().invoke(app, ["recommend", "--data", "synthetic:synergy", "--data-set", "n=500", "--boot", "5"])
    assert res.exit_code == 0, res.output
    assert seen["data"] == "synthetic:synergy" and seen["n"] == 500 and seen["n_boot"] == 5
    lines = res.output.splitlines()
    assert "rule: synergy" in lines
    assert lines.index("recommended families, best first:") < lines.index("ruled out:")
    ranked = lines[lines.index("recommended families, best first:") + 1: lines.index("ruled out:")]
    assert [ln.split()[1] for ln in ranked] == ["crossed", "mystery"]
    bad = CliRunner().invoke(app, ["recommend", "--data", "x", "--modalities", "a"])
    assert bad.exit_code == 2 and "--modalities" in bad.stderr
