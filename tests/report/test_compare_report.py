"""The comparison report of a tiny fixed results folder: every method, dataset and figure is in
it, it parses as HTML, embeds everything (opens offline) and its numbers are the hand-computed
ones."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from infofusion.cli.main import app
from infofusion.interfaces import RunRecord, run_scope
from infofusion.report.per_sample import save_per_sample

ACC = {  # dataset -> label -> accuracy per seed 0, 1, 2
    "synthetic:synergy": {"joint": [0.90, 0.92, 0.94], "late": [0.80, 0.83, 0.83],
                          "unimodal:m1": [0.50, 0.52, 0.49], "unimodal:m2": [0.51, 0.50, 0.50]},
    "digits": {"joint": [0.95, 0.96], "late": [0.97, 0.97], "tfn": [0.94, 0.95]},
}
LEVELS = [0.0, 0.5, 1.0]


def _record(data: str, label: str, seed: int, acc: float, folder: Path,
            groups: tuple[str, ...] = ("synergy", "redundancy")) -> RunRecord:
    method = label.split(":")[0]
    metrics = {"test/accuracy": acc, "test/macro_f1": acc - 0.01, "cost/params": 1000.0 + len(label),
               "cost/train_s_per_epoch": 0.1 * (1 + len(label) % 3), "cost/infer_ms_per_1000": 2.0,
               "cost/peak_rss_mib": 500.0, "cost/rss_growth_mib": 1.0}
    if method != "unimodal" and data == "synthetic:synergy":
        metrics["test/synergy_separate"] = acc - 0.5
    extra: dict = {"selected_on": "valid"}
    if data == "synthetic:synergy":
        drop = {"joint": 0.3, "late": 0.1, "unimodal": 0.0}[method]
        extra["robustness"] = {
            "levels": LEVELS, "draws": 3, "split": "test", "clean": acc, "metric": "accuracy",
            "higher_is_better": True,
            "noise": {t: [acc, acc - drop / 2, acc - drop] for t in ("m1", "m2", "all")},
            "missing": {m: {"zero": 0.5, "mean": 0.5} for m in ("m1", "m2")},
        }
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, 40)
        pred = np.eye(2)[np.where(rng.random(40) < acc, y, 1 - y)]
        outputs = {"index": np.arange(40), "y": y, "prediction": pred, "unimodal": {},
                   "diagnostics": {"gate": rng.random((40, 2))} if method == "joint" else {}}
        name = f"{data}_{label}_{seed}".replace(":", "_")
        extra["per_sample"] = str(Path(save_per_sample(folder / "per_sample" / name, outputs, "test",
                                                       truth={"interaction": np.array(list(groups) * (40 // len(groups)))})
                                       ).relative_to(folder))
    with run_scope("fixed-run"):
        return RunRecord("bench", {"data": data, "method": method, "label": label, "train": {}}, seed=seed,
                         metrics=metrics, extra=extra, versions={"infofusion": "0.1.0", "torch": "x"})


def results_folder(tmp_path: Path, groups: tuple[str, ...] = ("synergy", "redundancy")) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    recs = [_record(d, lab, s, a, folder, groups) for d, by in ACC.items() for lab, accs in by.items() for s, a in enumerate(accs)]
    (folder / "results.jsonl").write_text("".join(r.to_json() + "\n" for r in recs))
    (folder / "run.json").write_text(json.dumps({"run": {"id": "fixed-run"}, "plan": [], "seeds": [0, 1, 2]}))
    pid = RunRecord("pid", {"data": "synthetic:synergy", "modalities": ["m1", "m2"], "unit": "bits"}, seed=0,
                    metrics={"pid/R": 0.01, "pid/R_ci_low": 0.0, "pid/R_ci_high": 0.03, "pid/U1": 0.0,
                             "pid/U1_ci_low": 0.0, "pid/U1_ci_high": 0.02, "pid/U2": 0.0, "pid/U2_ci_low": 0.0,
                             "pid/U2_ci_high": 0.02, "pid/S": 0.8, "pid/S_ci_low": 0.7, "pid/S_ci_high": 0.9,
                             "pid/I1": 0.01, "pid/I2": 0.01, "pid/I12": 0.81},
                    extra={"unit": "bits", "notes": ["S looked odd (a note of the estimator)"]})
    (folder / "pid").mkdir()
    (folder / "pid" / "records.jsonl").write_text(pid.to_json() + "\n")
    return folder


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.h2: list[str] = []
        self.imgs: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.best: list[str] = []
        self._cell: str | None = None
        self._h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("meta", "img", "br"):
            self.stack.append(tag)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag in ("link", "script"):
            self.links.append(a.get("href") or a.get("src") or "")
        self._h2 = tag == "h2"
        self._cell = "best" if tag == "td" and a.get("class") == "best" else None

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._h2:
            self.h2.append(data.strip())
            self._h2 = False
        if self._cell == "best":
            self.best.append(data.strip())
            self._cell = None


def test_report_holds_every_method_dataset_and_figure_and_parses_as_html(tmp_path):
    folder = results_folder(tmp_path)
    out = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = _Page()
    html = out.read_text()
    page.feed(html)
    page.close()
    assert page.stack == []  # every element closed
    text = " ".join(page.text)
    for data, by in ACC.items():
        assert data in page.h2
        for label in by:
            assert label in text
    # figures: synergy: scores, robustness, PID profile, accuracy by interaction, joint's gate; digits: scores
    assert len(page.imgs) == 6
    for src in page.imgs:
        assert src.startswith("data:image/svg+xml;base64,")
        assert b"<svg" in base64.b64decode(src.split(",", 1)[1])
    assert page.links == [] and "http://" not in html.replace("http://www.w3.org", "")  # offline
    # best per column: joint on synergy (0.92, 0.91), late on digits (0.97, 0.96)
    assert page.best[:2] == ["0.920 ± 0.016", "0.910 ± 0.016"]
    assert "0.970 ± 0.000" in page.best
    # paired difference late - joint on synergy: d = [-.10, -.09, -.11], t(0.975, 2) = 4.3027
    assert "-0.1000" in text and "[-0.1248, -0.0752]" in text and "worse" in text
    assert "only 2 paired seeds" in text  # digits has 2 seeds
    assert "synergy" in text and "Synergy is 99 %" in text  # 0.8 / 0.81 = 98.8 %
    # the profile's recommendation is shown and checked against the measured best family
    assert "Recommendation (synergy profile)" in text and "hit rate" in text
    assert "on 1 of 1 datasets" in text and "as a hit, 1 of 1" in text  # joint is best here, first tier
    assert "How to read this report" in text and "Which method for which data" in text
    assert "interaction profile: S looked odd (a note of the estimator)" in text  # the profile's notes
    # relative robustness of late on m1: (0.82 + 0.77) / 2 ... trapezoid over [0, .5, 1]
    late = np.array([0.80, 0.83, 0.83]).mean()
    rr_late = ((late + late - 0.05) / 2 * 0.5 + (late - 0.05 + late - 0.1) / 2 * 0.5)
    assert f"{rr_late:.3f}" in text
    # effective robustness of joint vs late: mean of (0, -0.15 + 0.05, -0.3 + 0.1) = -0.1
    assert "-0.1000" in text
    # the Markdown twin names the same things and its figures exist
    md = out.with_suffix(".md").read_text()
    for data, by in ACC.items():
        assert f"## {data}" in md
        for label in by:
            assert label in md
    pngs = [line.split("](", 1)[1].rstrip(")") for line in md.splitlines() if line.startswith("![")]
    assert len(pngs) == 6 and all((tmp_path / p).is_file() for p in pngs)


    # written once: a second report to the same place must be told to overwrite
    again = CliRunner().invoke(app, ["report", str(folder), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = CliRunner().invoke(app, ["report", str(empty)])
    assert bad.exit_code == 2 and "empty" in bad.stderr and "results.jsonl" in bad.stderr


def test_report_into_a_folder_that_does_not_exist_yet(tmp_path):
    folder = results_folder(tmp_path)
    out = tmp_path / "new" / "sub" / "report.html"
    res = CliRunner().invoke(app, ["report", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.is_file() and out.with_suffix(".md").is_file()
    assert any((out.parent / "report_files").glob("*.png"))


def _render(folder: Path, out: Path) -> _Page:
    """``infofusion report folder --out out``, parsed."""
    res = CliRunner().invoke(app, ["report", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = _Page()
    page.feed(out.read_text())
    page.close()
    return page


def test_report_draws_the_information_plane_a_method_records(tmp_path):
    # a bottleneck chain (ITHP's run_info) and the layer plane of the info_plane training option
    folder = results_folder(tmp_path)
    chain = [{"epoch": e, "link": k, "detector": f"m{k + 2}", "rate": 5.0 - e - k, "kl": 0.1, "recon": 1.0 / (e + 1)}
             for e in range(3) for k in range(2)]
    layers = {"points": [{"layer": "encoders.m1", "epoch": e, "I_TX": 1.0 + e, "I_TY": 0.2 * e} for e in range(3)]}
    with run_scope("fixed-run"):
        recs = [RunRecord("bench", {"data": "digits", "method": "ithp", "label": "ithp", "train": {}}, seed=s,
                          metrics={"test/accuracy": 0.9}, extra={"bottleneck_plane": chain, "info_plane": layers},
                          versions={"infofusion": "0.1.0", "torch": "x"}) for s in (1, 0)]
    with open(folder / "results.jsonl", "a") as fh:
        fh.write("".join(r.to_json() + "\n" for r in recs))
    out = tmp_path / "report.html"
    page = _render(folder, out)
    text = " ".join(page.text)
    assert "Information plane" in text and "ithp, seed 0" in text  # the first seed is drawn
    assert len(page.imgs) == 6 + 2  # the fixture's six figures and two planes on digits
    md = out.with_suffix(".md").read_text()
    pngs = [line.split("](", 1)[1].rstrip(")") for line in md.splitlines() if line.startswith("![ithp")]
    assert len(pngs) == 2 and all((tmp_path / p).is_file() for p in pngs)


def test_report_draws_no_per_sample_view_of_a_single_group(tmp_path):
    folder = results_folder(tmp_path, groups=("synergy",))
    out = tmp_path / "report.html"
    page = _render(folder, out)
    assert len(page.imgs) == 4  # the two groups' figures (accuracy by group, joint's gate) are gone
    assert "Per sample" not in " ".join(page.text)


def test_per_sample_groups_of_per_modality_flags_and_of_a_type_column():
    from infofusion.report.compare import group_labels, grouping_column

    corrupted = np.array([[False, False, False], [False, True, False], [True, False, True], [False, False, False]])
    assert group_labels(corrupted).tolist() == ["clean", "m2 corrupted", "m1+m3 corrupted", "clean"]
    assert group_labels(np.zeros((4, 6), dtype=np.int8)) is None  # a latent code, not a grouping
    assert group_labels(np.arange(40)) is None  # an id: more groups than MAX_GROUPS
    truth = {"interaction": np.array(["synergy", "redundancy"] * 2), "latent": np.zeros((4, 6), dtype=np.int8),
             "corrupted": corrupted}
    assert grouping_column(truth) == "corrupted"  # what sample weighting reacts to comes first
    truth["corrupted"] = np.ones((4, 3), dtype=bool)  # every sample alike: no grouping
    assert grouping_column(truth) == "interaction"
    del truth["corrupted"]
    assert grouping_column(truth) == "interaction"
    assert grouping_column({"latent": truth["latent"]}) is None
