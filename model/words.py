"""Word segmentation of the tagger: the units that get one label and become entities.

Two segmentations exist, named in an artefact's ``tagger.json`` (``"segmentation"``):

- ``"words"`` (:data:`WORDS`, what training uses from now on): names stay whole. A word is
  a run of letters, digits and combining marks, joined across single inner ``-``, ``.`` or
  ``_`` (``gpt-4o-mini``, ``text-embedding-3``, ``Llama-3.1-70B``, ``v2.3``,
  ``claude-3-5-sonnet``, ``snake_case``) and across ``,`` between digits (``1,000``),
  optionally followed by ``++`` or ``#`` (``C++``, ``C#``). An e-mail address
  (``jane.doe+x@acme.co.uk``) and a URL (``https://…``, ``www.…``, its trailing punctuation
  left out) are one word each. Every other character that is not whitespace is a word of
  its own, with any combining marks after it, so leading and trailing punctuation comes
  off (``Azure,`` → ``Azure`` ``,``; ``(OpenAI)`` → ``(`` ``OpenAI`` ``)``), and so does
  an apostrophe (``OpenAI's`` → ``OpenAI`` ``'`` ``s``, as BERT splits it).
- ``"bert"`` (:data:`BERT`, an artefact without the setting): the fast tokenizer's own
  pre-tokenizer words, which split at every punctuation mark (``gpt-4o-mini`` is five words).
  The default tagger was trained on these, so it keeps them until it is retrained.

:func:`split_words` returns exact character ranges of the original text, so
``text[start:end]`` is the word for any Unicode (emoji, accents, combining marks, CRLF).

Example:
    >>> text = "Try gpt-4o-mini (OpenAI), v2.3!"
    >>> [text[a:b] for a, b in split_words(text)]
    ['Try', 'gpt-4o-mini', '(', 'OpenAI', ')', ',', 'v2.3', '!']
"""

from __future__ import annotations

import unicodedata

import regex

WORDS = "words"
"""Whole names (this module's :func:`split_words`)."""

BERT = "bert"
"""The tokenizer's pre-tokenizer words (split at every punctuation mark)."""

SEGMENTATIONS = (WORDS, BERT)

_ALNUM = r"[\p{L}\p{N}\p{M}]"
_RUN = rf"[\p{{L}}\p{{N}}]{_ALNUM}*"
_URL = r"(?:[A-Za-z][A-Za-z0-9+.\-]*://|www\.)\S*[\p{L}\p{N}/=_#~+&%\-]"
_EMAIL = rf"{_RUN}(?:[.+\-_]{_RUN})*@{_RUN}(?:-{_RUN})*(?:\.{_RUN}(?:-{_RUN})*)+"
_NAME = rf"{_RUN}(?:[\-._]{_RUN}|(?<=\p{{N}}),(?=\p{{N}}){_RUN})*(?:(?:\+\+?|\#)(?!{_ALNUM}))?"
_OTHER = r"\S\p{M}*"
_WORD = regex.compile(rf"{_URL}|{_EMAIL}|{_NAME}|{_OTHER}", regex.V0)
_PLAIN = regex.compile(rf"{_NAME}|{_OTHER}", regex.V0)  # no URL or e-mail in the text


def split_words(text: str) -> list[tuple[int, int]]:
    """Character ranges ``(start, end)`` of the words of ``text`` (see the module docstring),
    in order, disjoint, none of them empty or holding whitespace."""
    plain = "@" not in text and "://" not in text and "www." not in text
    return [m.span() for m in (_PLAIN if plain else _WORD).finditer(text)]


def check_segmentation(name: str | None) -> str:
    """The segmentation ``name`` stands for (``None``: :data:`BERT`, an older artefact).

    Raises:
        ValueError: an unknown name.
    """
    if name is None:
        return BERT
    if name not in SEGMENTATIONS:
        raise ValueError(f"unknown segmentation {name!r} ({', '.join(SEGMENTATIONS)})")
    return name


def is_punctuation(word: str) -> bool:
    """Whether ``word`` holds no letter and no digit (punctuation, symbols, emoji).

    Such a word never starts or ends an entity, and is never an entity alone.
    """
    return not any(unicodedata.category(c)[0] in "LN" for c in word)
