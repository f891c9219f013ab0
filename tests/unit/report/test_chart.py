"""memkb.report.chart: Mermaid xychart-beta text, golden, and the edge cases Mermaid
cannot draw (unknown values, a line with none known, quotes in labels)."""

from __future__ import annotations

from memkb.report.chart import learning_curve, xychart


def test_two_lines_with_a_gap_drawn_as_zero_and_said() -> None:
    text = xychart("Rates", ["2025-01", "2025-02"],
                   [("success rate", [0.5, 0.75]), ("followed", [None, 0.3333333])])  # fmt: skip
    assert text == (
        "```mermaid\n"
        "xychart-beta\n"
        '    title "Rates"\n'
        '    x-axis ["2025-01", "2025-02"]\n'
        '    y-axis "rate" 0 --> 1\n'
        "    line [0.5, 0.75]\n"
        "    line [0, 0.333]\n"
        "```\n"
        "\n"
        "Lines, first: success rate; second: followed. Drawn as 0 where unknown "
        "(no outcome to count yet): followed.\n"
    )


def test_a_line_without_any_known_value_is_left_out_and_named() -> None:
    text = xychart("R", ["a"], [("success rate", [1.0]), ("followed", [None])])
    assert "    line [1]\n```" in text
    assert text.count("line [") == 1
    assert text.endswith(
        "Lines, first: success rate. Not drawn, no outcome to count yet: followed.\n"
    )


def test_quotes_and_line_breaks_cannot_break_out_of_a_label() -> None:
    text = xychart('a "b"\nc', ['x"y'], [("s", [0.0])])
    assert "    title \"a 'b' c\"\n" in text
    assert '    x-axis ["x\'y"]\n' in text


def test_learning_curve_skips_months_before_any_rate_and_empty_is_nothing() -> None:
    unknown = {"learning_metrics": {"success_rate": None}, "advice": {"followed_rate": None}}
    known = {"learning_metrics": {"success_rate": 1.0}, "advice": {"followed_rate": 0.5}}
    text = learning_curve([{"month": "2025-01", **unknown}, {"month": "2025-02", **known}], "T")
    assert '    x-axis ["2025-02"]\n' in text
    assert learning_curve([{"month": "2025-01", **unknown}], "T") == ""
    assert learning_curve([], "T") == ""
