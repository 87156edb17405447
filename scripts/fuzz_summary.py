"""Run the fuzz table (tests/fuzz/cases.py) and print counts by area and outcome.

Usage: ``python scripts/fuzz_summary.py [--verbose]`` from the repository root. Each case runs
in a fresh temporary folder, as under pytest; the process exits with status 1 when a case that
is not marked xfail fails.

Outcome columns: ``ok`` -- the expected typed error, its message naming the offending thing
(counted under the class raised); ``xfail`` / ``xpass`` -- cases marked as fixed elsewhere that
still fail / now pass; the failure kinds (``wrong-class``, ``unnamed``, ``no-error``,
``traceback``, ``not-one-line``, ``exit-code``) are described in tests/fuzz/harness.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    torch.set_num_threads(1)
    from tests.fuzz.cases import CASES
    from tests.fuzz.harness import run_case

    verbose = "--verbose" in sys.argv
    by_area: dict[str, Counter] = defaultdict(Counter)
    by_class: Counter = Counter()
    failures = []
    t0 = time.perf_counter()
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out = run_case(case, Path(tmp))
        if case.xfail:
            status = "xpass" if out.ok else "xfail"
        else:
            status = out.status
        by_area[case.area][status] += 1
        if out.ok:
            by_class[out.raised] += 1
        if not out.ok and not case.xfail:
            failures.append((case, out))
        if verbose:
            print(f"{status:12s} {case.id:40s} {out.raised:22s} {out.message[:100]}")
    seconds = time.perf_counter() - t0
    statuses = sorted({s for c in by_area.values() for s in c}, key=lambda s: (s != "ok", s))
    width = max(len(a) for a in by_area) + 2
    print(f"{'area':{width}s}" + "".join(f"{s:>13s}" for s in statuses) + f"{'total':>8s}")
    for area, counts in by_area.items():
        row = "".join(f"{counts.get(s, 0):13d}" for s in statuses)
        print(f"{area:{width}s}{row}{sum(counts.values()):8d}")
    total = Counter()
    for counts in by_area.values():
        total.update(counts)
    row = "".join(f"{total.get(s, 0):13d}" for s in statuses)
    print(f"{'all':{width}s}{row}{sum(total.values()):8d}")
    print("\ntyped errors raised by the passing cases (class: count):")
    for name, k in by_class.most_common():
        print(f"  {name:24s} {k}")
    print(f"\n{len(CASES)} cases in {seconds:.1f} s")
    for case, out in failures:
        print(f"FAILED {case.id}: {out.status} ({out.detail}) {out.raised}: {out.message[:200]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
