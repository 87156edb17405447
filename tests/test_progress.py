"""The shared progress helper: one plain line per item when the stream is not a terminal."""

from __future__ import annotations

import io

from infofusion.progress import Progress


def test_a_log_gets_one_numbered_line_per_item():
    log = io.StringIO()
    with Progress(total=2, stream=log) as p:
        p.describe("working on a")  # labels are for the bar only
        p.advance("a done")
        p.advance("b done")
    assert log.getvalue() == "[1/2] a done\n[2/2] b done\n"
    assert p.done == 2


def test_lines_off_disabled_and_terminal_print_no_lines():
    for kw in ({"lines": False}, {"enabled": False}, {"tty": True}):
        log = io.StringIO()
        with Progress(total=2, stream=log, **kw) as p:
            p.start(3, "stage")
            p.advance("item", description="label")
        assert "item" not in log.getvalue(), kw
