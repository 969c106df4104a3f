"""Render demo ticket texts from templates, recording every entity's exact span.

A text is built piece by piece: literal template text (which may receive a typo) and entity
values (never altered, except that the whole ticket may be lower- or upper-cased when that
keeps its length). Each entity's span is the offset at which it was appended, so
``text[start:end]`` is exactly the entity by construction.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from data.demo import templates as T
from data.demo import vocab as V

_SLOT = re.compile(r"\{(\w+)\}")
_LABELS = {
    "author": "PER",
    "author_first": "PER",
    "agent": "PER",
    "agent_first": "PER",
    "person": "PER",
    "person_first": "PER",
    "customer": "ORG",
    "our_org": "ORG",
    "org": "ORG",
    "vendor": "ORG",
    "product": "PRODUCT",
    "model": "PRODUCT",
    "model2": "PRODUCT",
    "tool": "PRODUCT",
    "city": "LOC",
    "city2": "LOC",
    "country": "LOC",
}
_CODES = ("500", "502", "503", "504", "429", "401", "400", "408")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NEIGHBOURS = "qwertyuiopasdfghjklzxcvbnm"

Part = tuple[str, str | None]  # (literal text, None) or ("", slot name)


def _compile(template: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    pos = 0
    for match in _SLOT.finditer(template):
        if match.start() > pos:
            parts.append((template[pos : match.start()], None))
        parts.append(("", match.group(1)))
        pos = match.end()
    if pos < len(template):
        parts.append((template[pos:], None))
    return tuple(parts)


def _compile_all(templates: tuple[str, ...]) -> tuple[tuple[Part, ...], ...]:
    return tuple(_compile(t) for t in templates)


GREETINGS = _compile_all(T.GREETINGS)
INTROS = _compile_all(T.INTROS)
CORE = {k: _compile_all(v) for k, v in T.CORE.items()}
COMPETITOR = _compile_all(T.COMPETITOR)
EXTRAS = _compile_all(T.EXTRAS)
CLOSINGS = _compile_all(T.CLOSINGS)
SIGNATURES = _compile_all(T.SIGNATURES)
SUBJECTS = {k: _compile_all(v) for k, v in T.SUBJECTS.items()}
_VENDOR_IDS = tuple(V.COMPETITOR_WEIGHTS)
_VENDOR_WEIGHTS = tuple(V.COMPETITOR_WEIGHTS.values())


@dataclass
class TicketContext:
    """What a ticket is about; the engine draws everything else from ``rng``."""

    rng: random.Random
    category: str
    customer: str
    region: str
    industry: str
    plan: str
    price: float  # our price per 1M tokens the customer pays
    created_at: datetime
    vendor: str | None = None  # competitor mentioned (vendor id), None for no mention
    competitor_price: float | None = None
    cache: dict[str, str] = field(default_factory=dict)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class _Builder:
    __slots__ = ("case", "length", "pieces", "rng", "spans", "typo_rate")

    def __init__(self, rng: random.Random, case: str, typo_rate: float) -> None:
        self.rng = rng
        self.case = case
        self.typo_rate = typo_rate
        self.pieces: list[str] = []
        self.spans: list[tuple[int, int, str]] = []
        self.length = 0

    def _cased(self, text: str) -> str:
        if self.case == "lower":
            out = text.lower()
        elif self.case == "upper":
            out = text.upper()
        else:
            return text
        return out if len(out) == len(text) else text

    def literal(self, text: str) -> None:
        if self.typo_rate and self.rng.random() < self.typo_rate:
            text = _typo(text, self.rng)
        text = self._cased(text)
        self.pieces.append(text)
        self.length += len(text)

    def plain(self, text: str) -> None:
        text = self._cased(text)
        self.pieces.append(text)
        self.length += len(text)

    def entity(self, text: str, label: str) -> None:
        text = self._cased(text)
        self.spans.append((self.length, self.length + len(text), label))
        self.pieces.append(text)
        self.length += len(text)

    def text(self) -> str:
        return "".join(self.pieces)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # swap
    elif kind == 1:
        w = w[:j] + w[j + 1 :]  # drop
    elif kind == 2:
        w = w[:j] + w[j] + w[j:]  # double
    else:
        w = w[:j] + rng.choice(_NEIGHBOURS) + w[j + 1 :]  # wrong key
    words[i] = w
    return " ".join(words)


class TextEngine:
    """Turns a :class:`TicketContext` into ``(subject, text, spans)``."""

    def _value(self, slot: str, ctx: TicketContext) -> str:
        """The text of ``{slot}`` in this ticket: drawn once, then the same wherever the
        slot recurs (a name and its first name are drawn together)."""
        cache = ctx.cache
        if slot in cache:
            return cache[slot]
        if slot in _PAIRED:
            key, draw = _PAIRED[slot]
            cache[key], cache[f"{key}_first"] = draw(ctx.rng)
            return cache[slot]
        maker = _SLOTS.get(slot)
        if maker is None:  # pragma: no cover - a template typo
            raise KeyError(f"unknown slot {{{slot}}}")
        value = cache[slot] = maker(self, ctx)
        return value

    @staticmethod
    def _vendor(ctx: TicketContext) -> str:
        if ctx.vendor is None:
            ctx.vendor = ctx.rng.choices(_VENDOR_IDS, _VENDOR_WEIGHTS)[0]
        return ctx.vendor

    def _render(self, parts: tuple[Part, ...], ctx: TicketContext, out: _Builder) -> None:
        for literal, slot in parts:
            if slot is None:
                out.literal(literal)
                continue
            value = self._value(slot, ctx)
            label = _LABELS.get(slot)
            if label is None:
                out.plain(value)
            else:
                out.entity(value, label)

    def subject(self, ctx: TicketContext) -> str:
        """A short subject line (no entity spans are kept for subjects)."""
        out = _Builder(ctx.rng, "normal", 0.0)
        self._render(ctx.rng.choice(SUBJECTS[ctx.category]), ctx, out)
        return out.text()

    def ticket(self, ctx: TicketContext) -> tuple[str, tuple[tuple[int, int, str], ...]]:
        """The ticket text and its entity spans ``(start, end, label)``."""
        rng = ctx.rng
        r = rng.random()
        case = "lower" if r < 0.09 else "upper" if r < 0.11 else "normal"
        typo_rate = 0.25 if rng.random() < 0.35 else 0.0
        out = _Builder(rng, case, typo_rate)
        core = CORE[ctx.category]
        if rng.random() < 0.14:  # one-liner
            choice = (
                rng.choice(COMPETITOR)
                if ctx.vendor is not None and rng.random() < 0.6
                else rng.choice(core)
            )
            self._render(choice, ctx, out)
            return out.text(), tuple(out.spans)

        paragraphs: list[list[tuple[Part, ...]]] = []
        head: list[tuple[Part, ...]] = []
        if rng.random() < 0.45:
            head.append(rng.choice(INTROS))
        body = rng.sample(core, k=min(len(core), rng.choice((1, 1, 2, 2, 3))))
        if ctx.vendor is not None:
            comp = rng.sample(COMPETITOR, k=rng.choice((1, 1, 2)))
            if rng.random() < 0.5:
                body = comp + body
            else:
                body += comp
        paragraphs.append(head + body[:2])
        if len(body) > 2:
            paragraphs.append(body[2:])
        if rng.random() < 0.5:
            extras = rng.sample(EXTRAS, k=rng.choice((1, 1, 2)))
            if rng.random() < 0.5:
                paragraphs.append(extras)
            else:
                paragraphs[-1].extend(extras)

        newline = "\r\n" if rng.random() < 0.05 else "\n"
        first = True
        if rng.random() < 0.7:
            self._render(rng.choice(GREETINGS), ctx, out)
            out.plain(rng.choice((newline, newline * 2, " ")))
        for paragraph in paragraphs:
            if not first:
                out.plain(newline * 2 if rng.random() < 0.85 else newline)
            first = False
            for i, sentence in enumerate(paragraph):
                if i:
                    out.plain(" " if rng.random() < 0.9 else "  ")
                self._render(sentence, ctx, out)
        if rng.random() < 0.65:
            out.plain(newline * 2)
            self._render(rng.choice(CLOSINGS), ctx, out)
            if rng.random() < 0.75:
                out.plain(newline)
                self._render(rng.choice(SIGNATURES), ctx, out)
        return out.text(), tuple(out.spans)


# -- the slots: how each one's text is drawn (the order of draws is the demo's seed contract) --


def _full_name(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(V.FIRST_NAMES), rng.choice(V.LAST_NAMES)
    return f"{first} {last}", first


def _agent(rng: random.Random) -> tuple[str, str]:
    agent = rng.choice(V.AGENTS)
    return agent, agent.split(" ")[0]


#: Slots drawn in pairs: the name and its first name, cached under ``key`` and ``key_first``.
_PAIRED: dict[str, tuple[str, Callable[[random.Random], tuple[str, str]]]] = {
    f"{key}{suffix}": (key, draw)
    for key, draw in (("author", _full_name), ("agent", _agent), ("person", _full_name))
    for suffix in ("", "_first")
}


def _second_model(engine: TextEngine, ctx: TicketContext) -> str:
    other = ctx.rng.choices(_VENDOR_IDS, _VENDOR_WEIGHTS)[0]
    if other == engine._vendor(ctx):
        other = "deepseek" if other != "deepseek" else "google"
    return ctx.rng.choice(V.COMPETITOR_MODELS[other])


def _second_city(engine: TextEngine, ctx: TicketContext) -> str:
    rng = ctx.rng
    region = rng.choice(V.REGIONS) if rng.random() < 0.3 else ctx.region
    value = rng.choice(V.CITIES[region])
    if value == engine._value("city", ctx):
        value = rng.choice(V.CITIES[region])
    return value


def _email(engine: TextEngine, ctx: TicketContext) -> str:
    rng = ctx.rng
    first, _, last = engine._value("author", ctx).partition(" ")
    domain = re.sub(r"[^a-z0-9]", "", _ascii(ctx.customer.split(" ")[0])) or "example"
    local = rng.choice(
        (
            f"{_ascii(first)}.{_ascii(last)}",
            _ascii(first),
            f"{_ascii(first)[0]}{_ascii(last)}",
            "support",
            "it-admin",
        )
    )
    local = re.sub(r"[^a-z0-9.\-]", "", local) or "contact"
    return f"{local}@{domain}.{rng.choice(('com', 'io', 'de', 'co', 'ai', 'net'))}"


def _competitor_price(engine: TextEngine, ctx: TicketContext) -> str:
    price = ctx.competitor_price or ctx.price * ctx.rng.uniform(0.4, 0.8)
    return f"${price:.2f}"


def _day(engine: TextEngine, ctx: TicketContext) -> str:
    day = ctx.created_at
    return ctx.rng.choice(
        (
            f"{_MONTHS[day.month - 1]} {max(1, day.day - 1)}",
            day.strftime("%Y-%m-%d"),
            "yesterday",
            "Monday",
            "last night",
        )
    )


#: Every other slot: its text from the engine and the ticket's context (``ctx.rng`` draws).
_SLOTS: dict[str, Callable[[TextEngine, TicketContext], str]] = {
    "customer": lambda e, c: c.customer,
    "our_org": lambda e, c: c.rng.choice((V.OUR_COMPANY, V.OUR_COMPANY_SHORT)),
    "org": lambda e, c: c.rng.choice(V.OTHER_ORGS),
    "vendor": lambda e, c: c.rng.choice(V.COMPETITOR_ORGS[e._vendor(c)]),
    "model": lambda e, c: c.rng.choice(V.COMPETITOR_MODELS[e._vendor(c)]),
    "model2": _second_model,
    "product": lambda e, c: c.rng.choice(
        V.OUR_PRODUCTS if c.rng.random() < 0.8 else V.OUR_PRODUCTS_CASUAL
    ),
    "tool": lambda e, c: c.rng.choice(V.OTHER_PRODUCTS),
    "city": lambda e, c: c.rng.choice(V.CITIES[c.region]),
    "city2": _second_city,
    "country": lambda e, c: c.rng.choice(V.COUNTRIES[c.region]),
    "email": _email,
    "order": lambda e, c: (
        c.rng.choice(("ORD-", "#", "PO-", "order-")) + str(c.rng.randrange(10_000, 999_999))
    ),
    "invoice": lambda e, c: f"INV-{c.created_at.year}-{c.rng.randrange(1, 99_999):05d}",
    "amount": lambda e, c: c.rng.choice(
        ("${:,.2f}", "€{:,.0f}", "USD {:,.2f}", "{:,.0f} dollars")
    ).format(c.rng.lognormvariate(7, 1.2)),
    "price": lambda e, c: f"${c.price:.2f}",
    "cprice": _competitor_price,
    "pct": lambda e, c: f"{c.rng.randrange(5, 60)}%",
    "num": lambda e, c: str(c.rng.choice((2, 5, 10, 20, 50, 100, 200, 500, 800, 1500))),
    "code": lambda e, c: c.rng.choice(_CODES),
    "latency": lambda e, c: c.rng.choice(
        (f"{c.rng.uniform(1.5, 12):.1f}s", f"{c.rng.randrange(800, 9000)} ms")
    ),
    "reqid": lambda e, c: "req_" + "".join(c.rng.choice("0123456789abcdef") for _ in range(12)),
    "date": _day,
    "month": lambda e, c: _MONTHS[(c.created_at.month - 1 - c.rng.randrange(0, 3)) % 12],
    "role": lambda e, c: c.rng.choice(T.ROLES),
    "plan": lambda e, c: c.plan,
    "industry": lambda e, c: c.industry.lower() if c.industry != "SaaS" else "SaaS",
}
