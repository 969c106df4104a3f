"""Issue #12, one more fresh round of hostile attempts (round 4), on angles the earlier rounds
did not cover: the sign-in allow-list, masking of customer data, extreme what-if links,
the scenario comparison, ``model tag`` file mode's output path and the text that
``python -m analytics`` prints to a terminal.

Each test is an attack that broke something when it was written (each failed on that code;
none is marked xfail). Its docstring says what broke and what is expected instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import app_db, downloads, secured  # noqa: F401  (fixtures)
from tests.dashboard.signin import ADMIN, app_as, texts
from tests.reliability.conftest import add_ticket_naming_openai, downloaded_ticket_rows

ROOT = Path(__file__).resolve().parents[2]


# -- the sign-in allow-list (dashboard/access.py) -----------------------------------------


@pytest.mark.parametrize(
    "claim", [0, "0", "no", None, [False], {"value": False}, "", "False\u200b"]
)
@pytest.mark.usefixtures("secured")
def test_an_email_verified_claim_that_is_not_true_does_not_let_anyone_in(claim: Any) -> None:
    """Expected: an ID token whose ``email_verified`` claim is present but not true (0, "0",
    "no", null, [false], an object, "", "False" with a zero-width space) is an unverified
    address: the admin's address is refused like ``email_verified: false``.

    Broke: ``dashboard.access.current_user`` refused only a claim that ``_flag`` read as
    False (``false`` or the text "false"); every other value gave None and the user was let
    in, here with the admin role. A provider that sends the claim as a number (0/1) or null
    for an unconfirmed address let that address in.
    """
    at = app_as(ADMIN)
    at.user["email_verified"] = claim
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "not on the access list" in texts(at)
    assert not at.metric and not at.dataframe


@pytest.mark.usefixtures("secured")
def test_a_missing_or_true_email_verified_claim_still_lets_a_listed_user_in() -> None:
    """The fix keeps what worked: no claim at all (providers that do not send it) and
    ``true`` or "true" let the admin in."""
    for claim in ("absent", True, "true", " TRUE "):
        at = app_as(ADMIN, verified=None)
        if claim != "absent":
            at.user["email_verified"] = claim
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.metric, (claim, texts(at))


@pytest.mark.parametrize("email", ["eve@\u212apmg.example", "EVE@\u212aPMG.EXAMPLE"])
@pytest.mark.usefixtures("secured")
def test_an_address_that_only_lower_cases_to_an_allowed_domain_is_not_let_in(
    monkeypatch: pytest.MonkeyPatch, email: str
) -> None:
    """Expected: with ``@kpmg.example`` on the allow list, ``eve@\u212apmg.example`` (the
    Kelvin sign U+212A, a different, internationalised domain that anyone can register) is
    not on the list.

    Broke: addresses and entries were compared after ``str.lower()``, which maps the Kelvin
    sign to an ASCII "k": the address of another domain was let in as a viewer of this one
    (and ``\u212aate@…`` as the admin ``kate@…``). Only ASCII letters are folded now
    (``dashboard.access.fold_address``).
    """
    monkeypatch.setenv("PRICEWAR_ALLOW", "@kpmg.example")
    at = app_as(email)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "not on the access list" in texts(at)
    assert not at.metric
    ok = app_as("Eve@KPMG.example")  # the same address in another ASCII case still comes in
    ok.run()
    assert ok.metric, texts(ok)


def test_the_kelvin_sign_does_not_turn_an_address_into_an_admin_entry() -> None:
    """The same, at the level of the lists: ``\u212aate@example.com`` is not the admin
    ``kate@example.com``; an entry written with the Kelvin sign is not ``kate@…`` either."""
    from dashboard.access import AccessSettings, Role

    s = AccessSettings.from_toml('allow = ["@example.com"]\nadmins = ["kate@example.com"]')
    assert s.role_for("\u212aate@example.com") is Role.VIEWER
    assert s.role_for("KATE@EXAMPLE.COM") is Role.ADMIN
    odd = AccessSettings.from_toml('admins = ["\u212aate@example.com"]')
    assert odd.role_for("kate@example.com") is None


# -- customer data written with look-alike characters (data/masking.py) --------------------

#: Customer data as people paste it: a card with figure spaces (number formatting in word
#: processors), a phone in full-width digits (Japanese and Chinese input methods), a phone
#: with em dashes (autocorrect of "--"), a card with minus signs, an address in full-width
#: letters, a card with ideographic spaces and one with zero-width spaces (web pages).
LOOKALIKES = {
    "card_figure_spaces": "4111\u20071111\u20071111\u20071111",
    "phone_full_width": "\uff0b\uff14\uff14 \uff12\uff10 \uff17\uff19\uff14\uff16 "
    "\uff10\uff19\uff15\uff18",
    "phone_em_dashes": "0161\u2014496\u20140000",
    "card_minus_signs": "5500\u22120000\u22120000\u22120004",
    "email_full_width": "\uff4a\uff41\uff4e\uff45\uff20\uff45\uff58\uff41\uff4d\uff50"
    "\uff4c\uff45\uff0e\uff4f\uff52\uff47",
    "card_ideographic_spaces": "4111\u30001111\u30001111\u30001111",
    "card_zero_width_spaces": "4111\u200b1111\u200b1111\u200b1111",
}


def _plain_digits(text: str) -> str:
    """``text`` as a reader sees it: full-width forms as ASCII, every space, dash and
    zero-width character dropped (what a viewer would read off the screen)."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        c for c in folded if not (c.isspace() or c in "-\u2010\u2011\u2012\u2013\u2014\u2212\u200b")
    )


def _secrets(value: str) -> list[str]:
    """What must not be readable: the digits beyond the ones masking keeps, the address."""
    plain = _plain_digits(value)
    if "@" in plain:
        return [plain, plain.split("@")[0]]
    digits = "".join(c for c in plain if c.isdigit())
    return [digits, digits[:8]]


@pytest.mark.parametrize("case", list(LOOKALIKES))
def test_customer_data_in_look_alike_characters_is_masked(case: str) -> None:
    """Expected: a card, phone or address written with Unicode spaces, dashes or full-width
    characters is masked like its ASCII form (same length, same characters kept).

    Broke: ``data.masking`` knew only the ASCII space, NBSP, thin and narrow spaces and
    hyphens up to the en dash: ``4111<figure space>1111…``, ``＋４４ ２０ ７９４６ ０９５８``,
    ``0161—496—0000``, ``5500−0000−…`` (minus sign), ``ｊａｎｅ＠ｅｘａｍｐｌｅ．ｏｒｇ``, ideographic
    and zero-width spaces were shown to viewers whole. Now one-for-one look-alike mapping
    (``data.masking._normalised``) runs before the search; the original characters are masked.
    """
    from data.masking import mask_pii
    from data.number_spans import MASK

    value = LOOKALIKES[case]
    text = f"Hello, {value} thanks"
    masked = mask_pii(text)
    assert len(masked) == len(text) and MASK in masked, masked
    assert mask_pii(masked) == masked  # idempotent
    seen = _plain_digits(masked)
    for secret in _secrets(value):
        assert secret not in seen, (secret, masked)


def test_a_viewer_never_reads_look_alike_customer_data_on_entities_or_in_its_download(
    secured: Path,
    downloads: dict[str, bytes],
) -> None:
    """Expected: a ticket holding the look-alike card, phone and address numbers above is
    masked for a viewer on the Entities page and in its "Download these tickets (CSV)"."""
    from tests.dashboard.signin import VIEWER

    text = "Refund: " + "; ".join(LOOKALIKES.values()) + ". OpenAI is cheaper."
    add_ticket_naming_openai(secured, "lookalike", text, "lookalike.csv")
    at = app_as(VIEWER)
    at.run()
    at.switch_page("views/entities.py").run()
    assert not at.exception, [e.value for e in at.exception]
    rows = downloaded_ticket_rows(downloads, "lookalike")
    assert len(rows) == 1 and "OpenAI is cheaper" in rows[0]["text"]
    shown = _plain_digits(texts(at))
    written = _plain_digits(rows[0]["text"])
    for value in LOOKALIKES.values():
        for secret in _secrets(value):
            assert secret not in written, (secret, rows[0]["text"])
            assert secret not in shown, secret


# -- what-if links whose fields are each in range but not together (analytics/evaluate.py) --

#: Each field of these links lies inside the range round 3 gave it (reference prices
#: 1e-6..1e6, elasticities -100..100, the price up to 1e12, floor and ceiling 1e-3..1e6,
#: utilisation 1e-3..1, tokens per second 1e-6..1e9); together they ask the demand curve
#: V0·(p/p0)^ε for a volume of 1e-1197 or 1e+1203 M tokens.
EXTREME_LINKS: dict[str, dict[str, str]] = {
    "volume_underflows_to_0": {
        "s_segments": json.dumps([["smb", 1e-6, 1000, -100, -100, -100]]),
        "s_price_per_m": "1000000",
    },
    "volume_overflows_to_inf": {
        "s_segments": json.dumps([["smb", 1e-6, 1000, 100, 100, 100]]),
        "s_price_per_m": "1000000",
        "s_price_ceiling": "1000000",
    },
}


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize("case", list(EXTREME_LINKS))
def test_a_link_whose_fields_overflow_together_is_a_note_on_pricing(case: str) -> None:
    """Expected: the Pricing what-if opened from such a link says which segment's demand
    curve leaves the plausible volumes at which price (a note naming the segment), shows no
    inf or NaN, and no "Something went wrong".

    Broke: ``analytics.evaluate.evaluate_scenario`` divided by a volume that underflowed to
    0 (ZeroDivisionError) or carried inf/NaN volumes into the optimum and the charts
    (a ValueError in the chart): the page showed the generic "Something went wrong".
    """
    from tests.reliability.test_links_and_exports import SOMETHING_WRONG, _open, _texts

    at = _open("views/pricing.py", EXTREME_LINKS[case])
    shown = _texts(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not any(SOMETHING_WRONG in t for t in shown), shown
    assert any("demand curve" in t and "smb" in t for t in shown), shown
    for metric in at.metric:
        assert not any(w in str(metric.value).lower() for w in ("nan", "inf")), metric.value


@pytest.mark.parametrize("case", list(EXTREME_LINKS))
def test_extreme_combinations_never_give_inf_or_nan_numbers(case: str) -> None:
    """The same inputs, straight into the analytics: a ``ScenarioError`` naming the segment,
    never a ZeroDivisionError, never a result holding inf or NaN; the scenario page's
    comparison, the tornado and the Monte Carlo refuse them the same way."""
    from analytics.errors import ScenarioError
    from analytics.evaluate import evaluate_scenario
    from analytics.scenario import Scenario
    from analytics.scenario_sensitivity import scenario_monte_carlo, scenario_tornado
    from analytics.scenario_tables import compare_scenarios

    s = Scenario.from_query_params(EXTREME_LINKS[case])
    for fn in (
        evaluate_scenario,
        scenario_tornado,
        scenario_monte_carlo,
        lambda x: compare_scenarios([x]),
    ):
        with pytest.raises(ScenarioError, match="demand curve"):
            fn(s)


def test_a_link_with_a_unit_cost_past_its_cap_is_a_note_not_a_crash() -> None:
    """Expected: ``?s_gpu_cost_per_hour=1e12&s_utilisation=0.001&s_input_tokens_per_second=1e-6``
    (each in range) is a ``ScenarioError`` naming the unit cost.

    Broke: ``analytics.evaluate.scenario_model`` turned only the ``DemandModel``'s
    ValueError into a ScenarioError; the ``SegmentCurve``'s own ("unit_cost = 2.19e+23 is
    out of range") escaped as a plain ValueError, which pages show as "Something went wrong".
    """
    from analytics.errors import ScenarioError
    from analytics.evaluate import evaluate_scenario
    from analytics.scenario import Scenario

    s = Scenario(
        gpu_cost_per_hour=1e12,
        utilisation=1e-3,
        input_tokens_per_second=1e-6,
        output_tokens_per_second=1e-6,
    )
    with pytest.raises(ScenarioError, match="unit_cost"):
        evaluate_scenario(s)


# -- the scenario comparison (analytics/evaluate.py, dashboard/views/scenarios.py) ---------


def test_a_scenario_priced_below_cost_compares_without_inf_or_nan(
    app_db: Path,
    downloads: dict[str, bytes],
) -> None:
    """Expected: comparing a scenario priced below its unit cost ("cut to $0.10") and one
    with inelastic demand (no upper break-even) shows a sentence where a result does not
    exist, in the table and in "Comparison (CSV)": never "inf", "nan" or "None".

    Broke: ``compare_scenarios`` put ``summary()``'s inf (break-even volume when the price
    does not cover the unit cost) and NaN (no break-even, no target price) in the table,
    and the page showed them with ``astype(str)``: "inf" and "nan" in front of a manager,
    in the CSV too ("inf"), and "Δ" columns of "nan".
    """
    import csv
    import io

    from analytics.saved_scenarios import save_scenario
    from analytics.scenario import Scenario
    from analytics.scenario_parts import DemandSegment
    from data.store import Store
    from tests.reliability.test_links_and_exports import _open

    with Store.open(app_db) as store:
        save_scenario(store, Scenario(name="cut to 0.10", price_per_m=0.1))
        save_scenario(
            store,
            Scenario(
                name="inelastic",
                segments=(
                    DemandSegment(elasticity=-0.8, elasticity_ci_low=-1.0, elasticity_ci_high=-0.6),
                ),
            ),
        )
    at = _open("views/scenarios.py", {})
    assert not at.exception, [e.value for e in at.exception]
    at.toggle(key="sc_only_diff").set_value(False).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    cells = [str(v).strip().lower() for v in table.to_numpy().ravel()]
    assert "none: the price does not cover the unit cost" in cells
    assert "none: profit stays positive as the price rises" in cells
    assert not {"inf", "-inf", "nan", "none", "<na>"} & set(cells), sorted(set(cells))[:20]
    rows = list(csv.reader(io.StringIO(downloads["scenarios.csv"].decode())))
    written = {c.strip().lower() for r in rows for c in r}
    assert not {"inf", "-inf", "nan"} & written
    assert "none: the price does not cover the unit cost" in written


# -- model tag file mode: the output path (model/filemode.py) ------------------------------

TICKETS_CSV = "id,text\n1,Hello from Acme about GPT-4o pricing\n2,We moved to DeepSeek\n"


def _model_tag(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "model", "tag", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_model_tag_refuses_to_write_over_its_own_input(tmp_path: Path) -> None:
    """Expected: ``python -m model tag --input t.csv --output t.csv`` (a slip of the
    keyboard, or ``--output`` a link to the input) exits 2 with one line saying the output
    is the input, and ``t.csv`` is unchanged.

    Broke: file mode tagged the file and renamed its JSONL over the input: the analyst's
    tickets were gone, replaced by their entities, exit 0.
    """
    source = tmp_path / "t.csv"
    source.write_text(TICKETS_CSV, encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(source)
    for output in (source, link, tmp_path / "." / "t.csv"):
        done = _model_tag("--input", source, "--output", output)
        assert done.returncode == 2, (output, done.stdout, done.stderr)
        assert "is the input file" in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert source.read_text(encoding="utf-8") == TICKETS_CSV
    assert link.is_symlink()


def test_model_tag_with_a_folder_as_output_is_one_line(tmp_path: Path) -> None:
    """Expected: ``--output`` naming an existing folder (or a path below a file) exits 2
    with one line, before the file is tagged.

    Broke: the whole file was tagged, then ``os.replace`` raised IsADirectoryError: a
    Python traceback and exit 1 (``--output x.csv/out.jsonl`` below a file: NotADirectoryError).
    """
    source = tmp_path / "t.csv"
    source.write_text(TICKETS_CSV, encoding="utf-8")
    (tmp_path / "out").mkdir()
    for output in (tmp_path / "out", source / "out.jsonl"):
        done = _model_tag("--input", source, "--output", output)
        assert done.returncode == 2, (output, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert "--output" in done.stderr
    assert not any((tmp_path / "out").iterdir())


@pytest.fixture(scope="module")
def tagger() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model import Tagger

    return Tagger.load()


def test_file_mode_does_not_write_through_a_link_planted_at_its_temporary_name(
    tmp_path: Path, tagger: Any
) -> None:
    """Expected: with ``--output`` in a shared folder (``/tmp``), a link that another user
    placed at the temporary file's name (``.out.jsonl.<pid>.tmp``, the PID is easy to
    guess) is not followed: the file it points at is unchanged.

    Broke: ``tag_file`` opened ``.{name}.{pid}.tmp`` with a plain ``open("w")``, which
    follows a planted symlink: the victim file was truncated and overwritten with the
    tagging output.
    """
    from model.filemode import tag_file

    source = tmp_path / "t.csv"
    source.write_text(TICKETS_CSV, encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    (shared / f".out.jsonl.{os.getpid()}.tmp").symlink_to(victim)
    report = tag_file(tagger, source, shared / "out.jsonl")
    assert report.rows == 2
    assert victim.read_text(encoding="utf-8") == "precious\n"
    lines = (shared / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2"]
    assert not (shared / "out.jsonl").is_symlink()


# -- text that python -m analytics prints to a terminal (analytics/cli.py) -----------------

#: A product name as a customer can write it in a ticket: the tagger keeps control
#: characters inside a name (``Deep\x1bSeek-V3`` comes back as one PRODUCT entity), so
#: an alert's value and its "entities most named" carry them to the command line.
HOSTILE_PRODUCT = "Tessera\x1b]0;pwned\x07\x1b[2J\x1b[8m Voice\u202e\x9b31m"


@pytest.fixture
def hostile_alert_db(demo_db_path: Path, tmp_path: Path) -> Path:
    """The demo database cut off on the last day of its planted "Tessera Voice" surge (so the
    alert is open), with that product's name written with terminal control sequences."""
    import shutil

    from data.store import Store

    db = tmp_path / "hostile.duckdb"
    shutil.copy(demo_db_path, db)

    def edit(conn: Any) -> None:
        conn.execute("DELETE FROM tickets WHERE created_at >= TIMESTAMP '2026-03-20'")
        conn.execute(
            "UPDATE gold_entities SET text = ? WHERE text = 'Tessera Voice'", [HOSTILE_PRODUCT]
        )

    with Store.open(db) as store:
        store.write(edit)
    return db


def _signals(db: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "analytics", "signals", "--db", str(db), "--top", "3", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )


def test_signals_prints_no_terminal_control_sequence_from_ticket_text(
    hostile_alert_db: Path,
) -> None:
    """Expected: ``python -m analytics signals`` shows a product name holding ESC, BEL,
    C1 CSI (U+009B) and a right-to-left override as visible escapes (``\\x1b``…): the
    analyst's terminal is not retitled, cleared, hidden or reordered. ``--json`` gives the
    same values, with every control written as a ``\\u`` escape.

    Broke: the text output printed the name as is (``ESC ] 0;pwned BEL`` retitles the
    window, ``ESC [2J`` clears the screen, ``ESC [8m`` hides what follows), and ``--json``
    (``ensure_ascii=False``) printed U+009B and U+202E raw.
    """
    done = _signals(hostile_alert_db)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8")
    assert "Tessera" in out
    bad = [
        c
        for c in out
        if (ord(c) < 0x20 and c not in "\n\t")
        or 0x7F <= ord(c) <= 0x9F
        or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    ]
    assert not bad, [hex(ord(c)) for c in bad]
    assert "Tessera\\x1b]0;pwned\\x07" in out
    done = _signals(hostile_alert_db, "--json")
    assert done.returncode == 0, done.stderr
    raw = done.stdout.decode("utf-8")
    assert not [
        c
        for c in raw
        if (ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e"
    ]
    alerts = json.loads(raw)["open_alerts"]
    assert any(a["value"] == HOSTILE_PRODUCT for a in alerts), [a["value"] for a in alerts]


def test_data_ingest_prints_file_names_without_their_control_sequences(tmp_path: Path) -> None:
    """Expected: ``python -m data ingest exports/*`` over files whose names someone else
    chose (attachments, an export folder) prints the names with control characters as
    visible escapes, accepted or rejected, and still exits 2 for the rejected one.

    Broke: a file named ``bad<ESC>]0;x<BEL>.csv`` (retitles the terminal) or
    ``b<ESC>[2J.csv`` (clears the screen) was printed as is in "…: 1 row, 1 new ticket" and
    "…: rejected".
    """
    good = tmp_path / "b\x1b[2J.csv"
    good.write_text("text,created_at\nhello there,2025-01-01\n", encoding="utf-8")
    bad = tmp_path / "bad\x1b]0;x\x07.csv"
    bad.write_text("text\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "data",
            "ingest",
            "--db",
            str(tmp_path / "db.duckdb"),
            str(good),
            str(bad),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    out = (done.stdout + done.stderr).decode("utf-8")
    assert "\x1b" not in out and "\x07" not in out, out
    assert "b\\x1b[2J.csv: 1 row" in out and "bad\\x1b]0;x\\x07.csv: rejected" in out
