import math

import pytest

from infofusion.interfaces import RunRecord, read_records, write_records
from infofusion.report import html_table, markdown_table, summarize


def _rec(method, seed, acc):
    return RunRecord(kind="train", config={"method": method, "data": "d"}, seed=seed, metrics={"test/accuracy": acc})


def test_mean_and_population_std():
    rows = summarize([_rec("joint", 0, 0.8), _rec("joint", 1, 0.9), _rec("late", 0, 0.5)])
    joint = next(r for r in rows if r["method"] == "joint")
    m, s = joint["test/accuracy"]
    assert m == pytest.approx(0.85) and s == pytest.approx(0.05)
    assert joint["seeds"] == 2
    md = markdown_table(rows)
    assert "| d | joint | 2 | 0.850 ± 0.050 |" in md
    assert "<td>0.850 ± 0.050</td>" in html_table(rows)


def test_records_round_trip(tmp_path):
    r = RunRecord(kind="train", config={"a": (1, 2)}, seed=3, metrics={"x": float("nan"), "y": 1.5})
    write_records(tmp_path / "r.jsonl", [r, r])
    back = read_records(tmp_path / "r.jsonl")
    assert len(back) == 2 and back[0].seed == 3 and back[0].metrics["y"] == 1.5
    assert back[0].config["a"] == [1, 2]
    assert back[0].metrics["x"] == "nan" or math.isnan(float(back[0].metrics["x"]))
