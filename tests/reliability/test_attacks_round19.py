"""Round 19 of the hostile-user attacks (#12): the page address, multi-choice widgets,
``dashboard/serve.py`` and odd files for ``model tag --input``.

- The page address: the sidebar filters are bound to the URL (``bind="query-params"``), so
  Streamlit seeds them from the query string with the widget's own deserialiser
  (``SessionState._seed_widget_from_url``), a second way past round 18's
  ``dashboard.widget_bounds``. Streamlit 1.67 ignores a query string of more than 512 Ki
  characters or 1,000 fields, so a list in an address has at most 999 entries: a date
  filter given 999 dates, a segment named 999 times, 499 made-up segments, a 500,000-
  character plan, hostile unicode and markup in every filter, what-if parameters whose
  names are 300,000 characters or hold NUL, ESC, a tag or a right-to-left override.
- Multi-choice widgets (the sidebar's multiselects, the Entities pills) sent a forged list
  of 2,000,000 names over the widget message: Streamlit looks every entry up among the
  options before any page code (round 18 bounded dates and editor states only).
- ``streamlit run dashboard/serve.py`` over the real websocket (``signed.py``): the address
  attack, page names asking for the admins' pages, the forged list, uploads, the inbox
  poller and the server's stop.
- ``python -m model tag --input``: a UTF-8 byte order mark, UTF-32, a 200,000-column header.

Work is counted (parse calls, entries looked up, SQL parameters, characters shown, bytes
held), never timed; CPU ticks are recorded as figures only.
"""

from __future__ import annotations

import asyncio
import functools
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from tests.dashboard.conftest import app_db, secured  # noqa: F401 - fixtures
from tests.dashboard.signin import VIEWER as APP_VIEWER
from tests.dashboard.signin import app_as
from tests.reliability.conftest import cli_env, record_figure, run_cli
from tests.reliability.signed import ADMIN, VIEWER, SignedServer, run, session, signed
from tests.reliability.test_attacks_round17 import (  # noqa: F401 - `work` is a fixture
    MB,
    Work,
    open_page,
    run_problems,
    work,
)
from tests.reliability.test_attacks_round18 import forged_states, peek, serving

#: Streamlit 1.67 ignores a whole query string of more characters or fields than these
#: (``query_params.CLIENT_STATE_QUERY_STRING_MAX_LENGTH`` / ``…_MAX_FIELDS``).
QUERY_LIMIT = 512 * 1024
QUERY_FIELDS = 1000
#: The most entries one list in an address can have (one field left for another value).
URL_LIST = QUERY_FIELDS - 1
#: Bidirectional controls ``ui.md_text`` shows as escapes (round 14).
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def opened_with(email: str, query: dict[str, Any]) -> AppTest:
    """The app's first run for ``email`` on a page address carrying ``query`` (which must
    fit Streamlit's limit on a query string, or it would be ignored whole)."""
    text = urllib.parse.urlencode(query, doseq=True)
    assert len(text) <= QUERY_LIMIT and text.count("&") < QUERY_FIELDS
    at = app_as(email)
    at.query_params.update(query)
    at.run()
    return at


def shown_text(at: AppTest) -> str:
    """Every warning, caption and Markdown text the run drew (sidebar included)."""
    parts = [w.value for w in at.warning]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def _segments() -> list[str]:
    """The sidebar's segment options, as the page draws them."""
    at = opened_with(APP_VIEWER, {})
    return list(at.multiselect(key="segment").options)


def test_a_date_list_in_the_page_address_is_parsed_at_most_twice_an_input(
    secured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a date filter seeded from the address parses at most the two dates of a
    range, whatever the address holds (round 18 bounded the widget message; the address
    is Streamlit's second way in: ``_seed_widget_from_url`` calls the same deserialiser)."""
    from streamlit.elements.widgets.time_widgets import DateInputSerde

    calls = [0]
    real = DateInputSerde._parse_date

    def counted(value: str) -> Any:
        calls[0] += 1
        return real(value)

    monkeypatch.setattr(DateInputSerde, "_parse_date", staticmethod(counted))
    at = opened_with(APP_VIEWER, {"from": ["2025-01-01"] * URL_LIST})
    assert not run_problems(at), run_problems(at)
    assert calls[0] <= 16, f"{calls[0]:,} dates parsed"


def test_a_segment_named_many_times_in_the_address_reaches_the_queries_once(
    secured: Path, work: Work
) -> None:
    """Expected: a filter seeded from the address reaches the page's queries with each
    segment once (``ui.chosen_options``), as a forged widget value does (round 17)."""
    segment = _segments()[0]
    work.reset()
    at = opened_with(APP_VIEWER, {"segment": [segment] * URL_LIST})
    assert not run_problems(at), run_problems(at)
    assert not work.problems(), work.problems()
    assert work.statements > 0  # the page did query the store


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"segment": [f"seg{i:05d}" for i in range(499)]}, "segment has 499 values"),
        ({"region": [f"reg{i:05d}" for i in range(45)]}, "and 42 more are not among"),
        ({"plan": ["P" * 500_000]}, "longer than 100 characters"),
    ],
    ids=["499_segments", "45_regions", "500k_plan"],
)
def test_many_or_huge_made_up_filter_values_give_one_short_note(
    secured: Path, query: dict[str, list[str]], said: str
) -> None:
    """Expected: 499 made-up segments (all Streamlit reads of an address), 45 made-up
    regions, or one plan of 500,000 characters are named in one short note (a count, three
    names and a count, a cut name), never listed whole; the page still runs."""
    at = opened_with(APP_VIEWER, query)
    assert not run_problems(at), run_problems(at)
    notes = [str(w.value) for w in at.warning if "link" in str(w.value)]
    assert len(notes) == 1, [w.value for w in at.warning]
    assert len(notes[0]) < 1_000, len(notes[0])
    assert said in notes[0], notes[0][:300]


#: Entries of the forged multi-choice lists (a 6 MB message of one-letter names).
CHOICES = 2_000_000
#: The most entries a run may look up among a widget's options: two parses a run of
#: ``widget_bounds.MAX_CHOICE_ENTRIES`` (1,000) each, twice over for slack.
MAX_LOOKED_UP = 4_000


def _counting(cls: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the entries ``cls.deserialize`` (Streamlit's own, under any bound the app
    installs on top) is handed; the app's first page run wraps the counter."""
    real = getattr(cls.deserialize, "__wrapped__", cls.deserialize)
    entries = [0]

    def counted(self: Any, ui_value: Any) -> Any:
        entries[0] += len(ui_value or ())
        return real(self, ui_value)

    monkeypatch.setattr(cls, "deserialize", counted)
    return entries


@pytest.mark.parametrize(
    ("page", "key", "value"),
    [
        ("views/overview.py", "segment", "x"),
        ("views/overview.py", "region", "made-up"),
        ("views/entities.py", "ent_labels", "ORG"),
    ],
    ids=["sidebar_segment_made_up", "sidebar_region_made_up", "entity_pills_repeated"],
)
def test_a_forged_multi_choice_list_of_millions_is_never_looked_up_whole(
    secured: Path, monkeypatch: pytest.MonkeyPatch, page: str, key: str, value: str
) -> None:
    """Expected: a multiselect's or multi-choice pills' forged list is looked up among the
    options only up to ``widget_bounds.MAX_CHOICE_ENTRIES`` entries (or the widget's option
    count), whatever the message holds; the page runs as with no value sent.

    Broke: Streamlit's deserialisers (``MultiSelectSerde``: ``formatted_options.index`` per
    entry; the pills' dict lookup) took the whole list when the session's next run started,
    before ``ui.chosen_options`` could drop repeats and made-up names: 2,000,000 one-letter
    names (6 MB, any viewer) took 0.74 s of a core per parse with 10 options, parsed twice a
    run (before the page, and when it draws the widget); 25 MB messages are allowed."""
    from streamlit.elements.widgets import button_group
    from streamlit.elements.widgets.multiselect import MultiSelectSerde

    entries = _counting(MultiSelectSerde, monkeypatch)
    pill_entries = _counting(button_group._MultiSelectButtonGroupSerde, monkeypatch)
    at = open_page(APP_VIEWER, page)
    widget = next(n for n in at._tree if isinstance(n, Widget) and n.key == key)
    forged = WidgetState(id=widget.id)
    forged.string_array_value.data.extend([value] * CHOICES)
    entries[0] = pill_entries[0] = 0
    at._run(forged_states(at, [], 0, (forged,)))
    assert not run_problems(at), run_problems(at)
    looked_up = entries[0] + pill_entries[0]
    assert looked_up <= MAX_LOOKED_UP, f"{looked_up:,} entries looked up"


HOSTILE = [
    "a\u202eevil",
    "<script>window.__xss=1</script>",
    "[x](javascript:alert(1))",
    "\x1b[2J\x00nul",
    "**bold** :red[red] $x$",
    "\u2066isolate\u2069",
]


@pytest.mark.parametrize("key", ["segment", "plan", "region", "from", "to"])
def test_hostile_unicode_and_markup_in_a_filter_value_is_shown_escaped(
    secured: Path, key: str
) -> None:
    """Expected: every hostile value in a filter of the address is refused in a note that
    shows it as text: no raw bidirectional control, no HTML tag, no live link."""
    at = opened_with(APP_VIEWER, {key: HOSTILE})
    assert not run_problems(at), run_problems(at)
    text = shown_text(at)
    assert not [c for c in BIDI if c in text], [hex(ord(c)) for c in BIDI if c in text]
    assert "<script>" not in text
    assert "](javascript:" not in text
    assert "\x00" not in text and "\x1b" not in text


@pytest.mark.parametrize(
    "name",
    ["s_" + "K" * 300_000, "s_\u202eevil<script>", "s_name\x00\x1b[2J"],
    ids=["300k_name", "bidi_and_tag", "nul_and_esc"],
)
def test_a_link_parameter_with_a_hostile_or_huge_name_gives_one_short_note(
    secured: Path, name: str
) -> None:
    """Expected: a what-if link parameter (``s_…``) whose value is over the limit and whose
    name is 300,000 characters, or holds a bidirectional control, a tag, NUL or ESC, is
    refused in one short note that shows the name as text (cut, controls escaped).

    Broke (weak): ``ui.scenario_link_problems`` named an over-long parameter with its name
    as sent: a link whose parameter name was 300,000 characters drew a note of 300,149
    characters on the page of whoever opened it; NUL and ESC reached the note raw (values
    were already cut and escaped, ``filter_links.quoted_link_value``)."""
    at = opened_with(APP_VIEWER, {name: "1" * 17_000})
    assert not run_problems(at), run_problems(at)
    notes = [str(w.value) for w in at.warning if "link" in str(w.value)]
    assert notes, [w.value for w in at.warning]
    text = shown_text(at)
    assert all(len(n) < 2_000 for n in notes), [len(n) for n in notes]
    assert not [c for c in BIDI if c in text], [hex(ord(c)) for c in BIDI if c in text]
    assert "<script>" not in text and "\x00" not in text and "\x1b" not in text


#: Page names a viewer's run asks for (``ClientState.page_name``, what a browser sends for
#: the address path): the admins' pages, a path climbing out, hostile unicode.
DEEP_LINKS = ("settings", "audit", "../settings", "settings\u202e", "Settings", "%2e%2e/audit")
#: User keys of widgets only the admins' pages draw.
ADMIN_KEYS = ("set_kind", "set_reset", "set_confirm", "au_actor", "au_actions")


def _keys(s: Any) -> set[str]:
    return {w.id.split("-", 2)[-1] for w in s.widgets.values() if w.id in s._run_ids}


def test_serve_py_bounds_the_address_and_keeps_its_guards_to_the_stop(
    tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected, on ``streamlit run dashboard/serve.py``: a viewer's run whose query string
    carries 998 dates and a made-up page of 11,000 characters ends without a problem; a
    viewer's runs asking for the admins' pages by name draw none of their widgets; a forged
    2,000,000-entry segment list ends without a problem (figures: the server's CPU ticks);
    the viewer's upload is refused (403); the inbox poller imports a file the command line
    hands over while the server holds the database; once the server stops, the database is
    free (a command-line ingest writes it directly, not through the inbox)."""
    import bench.light_client as light_client
    from tests.reliability.test_attacks_round16 import held_upload_bytes, put_files
    from tests.reliability.test_attacks_round18 import _cpu_ticks

    query = "&".join(["from=2025-01-01"] * (URL_LIST - 1)) + "&page=" + "settings%00" * 1000
    handed = tmp_path / "handed.csv"
    handed.write_text("text,customer_id\nround19 handed over,c1\n", encoding="utf-8")
    after = tmp_path / "after.csv"
    after.write_text("text,customer_id\nround19 after the stop,c1\n", encoding="utf-8")
    client_state = light_client.ClientState

    async def attack(server: SignedServer) -> dict[str, Any]:
        pid = server.server.proc.pid
        seen: dict[str, Any] = {"problems": [], "admin": {}, "ticks": {}}
        async with session(server, VIEWER) as s:
            s._send_rerun = functools.partial(s._send_rerun, query=query)  # type: ignore[method-assign]
            seen["problems"] += (await s.run("a query string of 998 dates")).problems
            s._send_rerun = s._send_rerun.func  # type: ignore[attr-defined,method-assign]
            for name in DEEP_LINKS:
                monkeypatch.setattr(
                    light_client, "ClientState", functools.partial(client_state, page_name=name)
                )
                action = await s.run(f"page {name!r}", page_hash="")
                seen["admin"][name] = sorted(_keys(s) & set(ADMIN_KEYS))
                seen["problems"] += [p for p in action.problems if "page not found" not in p]
            monkeypatch.setattr(light_client, "ClientState", client_state)
            await s.open()
            w = s.widget("segment")
            for name, count in (("one", 1), ("forged", CHOICES)):
                state = WidgetState(id=w.id)
                state.string_array_value.data.extend(["x"] * count)
                s.values[w.id] = state
                ticks = _cpu_ticks(pid)
                seen["problems"] += (await s.run(f"segment list of {count:,}")).problems
                seen["ticks"][name] = _cpu_ticks(pid) - ticks
            s.values.pop(w.id)
            seen["refused"] = [r for _, r in await put_files(s, 2, MB)]
        async with session(server, ADMIN) as admin:  # the control: the probe reaches pages
            monkeypatch.setattr(
                light_client, "ClientState", functools.partial(client_state, page_name="settings")
            )
            seen["problems"] += (await admin.run("admin asks for settings", page_hash="")).problems
            monkeypatch.setattr(light_client, "ClientState", client_state)
            seen["admin_control"] = sorted(_keys(admin) & set(ADMIN_KEYS))
        seen["held"] = held_upload_bytes(server)
        return seen

    async def poll(server: SignedServer, want: int) -> int:
        count = 0
        for _ in range(120):
            count = peek(server, "SELECT count(*) FROM tickets WHERE source = 'handed.csv'")
            if count >= want:
                break
            await asyncio.sleep(1)
        return count

    with serving("dashboard/serve.py", monkeypatch), signed(tmp_path, demo_db) as server:
        seen = run(attack(server))
        result = run_cli("data", "ingest", "--db", server.db, handed, env=cli_env())
        imported = run(poll(server, 1))
        db = server.db
        proc = server.server.proc
    for name, ticks in seen["ticks"].items():
        record_figure(f"round19_segment_list_{name}_cpu_ticks", ticks)
    assert not seen["problems"], seen["problems"]
    assert not any(seen["admin"].values()), seen["admin"]
    assert "set_kind" in seen["admin_control"], seen["admin_control"]
    assert len(seen["refused"]) == 2 and all("403" in r for r in seen["refused"]), seen
    assert seen["held"] == 0, f"{seen['held']:,} bytes held for a viewer"
    assert result.returncode == 0, result.stderr
    assert "inbox" in (result.stdout + result.stderr), result.stdout + result.stderr
    assert imported == 1, imported
    assert proc.poll() is not None, "the server still runs"
    direct = run_cli("data", "ingest", "--db", db, after, env=cli_env())
    assert direct.returncode == 0, direct.stderr
    assert "inbox" not in direct.stdout + direct.stderr, direct.stdout + direct.stderr


# -- the command line: odd encodings and very wide rows for ``model tag --input`` ----------


def _wide_header(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns)) + ",text\n"
    return (header + ",".join("x" for _ in range(columns)) + ",hello\n").encode()


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("text\nKimi cut prices\n".encode("utf-32"), "UTF-32"),
        (_wide_header(200_000), "header row is longer than 1 MiB"),
    ],
    ids=["utf32", "200k_columns"],
)
def test_model_tag_refuses_odd_files_in_one_line_and_writes_nothing(
    tmp_path: Path, content: bytes, said: str
) -> None:
    """Expected: ``python -m model tag --input`` on a UTF-32 file or a 1.3 MB header of
    200,000 columns: exit 2, one line naming the problem, no output file."""
    source, output = tmp_path / "odd.csv", tmp_path / "out.jsonl"
    source.write_bytes(content)
    result = run_cli("model", "tag", "--input", source, "--output", output, timeout=300)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert said in result.stderr, result.stderr[-500:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-500:]
    assert not output.exists() and list(tmp_path.iterdir()) == [source]


def test_model_tag_reads_a_utf8_bom_header_and_keeps_offsets(tmp_path: Path) -> None:
    """Expected: a UTF-8 file starting with a byte order mark is read with its header
    (``text``, ``id``) and every entity's offsets index the text without the mark."""
    import json

    source, output = tmp_path / "bom.csv", tmp_path / "out.jsonl"
    source.write_bytes(b"\xef\xbb\xbftext,id\nOpenAI cut GPT-4o prices,1\n")
    result = run_cli("model", "tag", "--input", source, "--output", output, timeout=300)
    assert result.returncode == 0, result.stderr[-500:]
    [row] = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert str(row["id"]) == "1", row
    text = "OpenAI cut GPT-4o prices"
    assert row["entities"], row
    assert all(text[e["start"] : e["end"]] == e["text"] for e in row["entities"]), row
