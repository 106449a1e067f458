"""dashboard/components/unchanged.py: a refreshing page is sent only what changed."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import plotly.graph_objects as go
from dash import html, no_update

from dashboard.components import unchanged


def test_a_component_tree_or_a_figure_has_a_fingerprint_that_follows_its_content():
    table = html.Table([html.Tr([html.Td("LV-BY-01"), html.Td("high", className="lvl")])])
    same = html.Table([html.Tr([html.Td("LV-BY-01"), html.Td("high", className="lvl")])])
    other = html.Table([html.Tr([html.Td("LV-BY-01"), html.Td("critical", className="lvl")])])
    assert unchanged.digest(table) == unchanged.digest(same) != unchanged.digest(other)
    # a class alone is a change (the cell's colour)
    assert unchanged.digest(html.Td("high", className="lvl")) != unchanged.digest(html.Td("high", className="x"))
    when = [datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)]
    fig = go.Figure(go.Bar(x=when, y=np.array([3, 4])))
    assert unchanged.digest(fig) == unchanged.digest(go.Figure(go.Bar(x=when, y=np.array([3, 4]))))
    assert unchanged.digest(fig) != unchanged.digest(go.Figure(go.Bar(x=when, y=np.array([3, 5]))))


def test_what_the_browser_holds_is_not_sent_again_and_a_change_is():
    first, held = unchanged.changed_only(["a", {"n": 1}, [1, 2]], None)
    assert first == ["a", {"n": 1}, [1, 2]] and len(held) == 3 and all(held)
    again, held2 = unchanged.changed_only(["a", {"n": 1}, [1, 2]], held)
    assert again == [no_update] * 3 and held2 == held
    changed, held3 = unchanged.changed_only(["a", {"n": 2}, [1, 2]], held2)
    assert changed == [no_update, {"n": 2}, no_update]
    assert held3[0] == held[0] and held3[1] != held[1] and held3[2] == held[2]


def test_a_callbacks_own_no_update_keeps_what_the_browser_holds():
    _first, held = unchanged.changed_only(["a", "b"], None)
    out, kept = unchanged.changed_only([no_update, "b"], held)
    assert out == [no_update, no_update] and kept == held
    # and the value the browser still holds is known as held afterwards
    out, _ = unchanged.changed_only(["a", "c"], kept)
    assert out == [no_update, "c"]


def test_a_wrapped_callback_takes_the_store_last_and_answers_it_last():
    calls = []

    def update(state, n):
        calls.append((state, n))
        return f"rows of {state}", f"note {n // 2}"

    run = unchanged.wrap(update)
    first = run("LV", 1, None)
    assert first[:2] == ["rows of LV", "note 0"] and calls == [("LV", 1)]
    second = run("LV", 2, first[-1])
    assert second[:2] == [no_update, "note 1"] and second[-1][0] == first[-1][0] != second[-1][1]
    # nothing changed: the answer is empty, the Store's fingerprints included
    assert run("LV", 3, second[-1]) == [no_update] * 3
    single = unchanged.wrap(lambda n: n % 2, single=True)
    one = single(1, None)
    assert one[0] == 1 and single(3, one[-1]) == [no_update, no_update] and single(4, one[-1])[0] == 0
