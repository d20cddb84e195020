"""Turns a shopper's search box text into a PostgreSQL tsquery, safely.

User input never reaches tsquery syntax: it is split into words made only of Unicode letters
and digits (so no quote, backslash, operator, weight or prefix marker can survive), and each
word is then quoted as a lexeme anyway. Every word must match (AND); the last one matches as a
prefix, so results appear while the shopper is still typing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.common.errors import InvalidArgument

MAX_QUERY_CHARS = 256
# Words beyond this add cost and almost never change the result.
MAX_WORDS = 12
# Letters and digits only: what the 'simple' text search parser keeps as word parts.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchTerms:
    words: tuple[str, ...]

    @property
    def tsquery(self) -> str:
        """Input for to_tsquery('simple', ...): 'blue' & 'sh':*"""
        quoted = [f"'{w}'" for w in self.words]
        quoted[-1] += ":*"
        return " & ".join(quoted)

    @property
    def text(self) -> str:
        """The normalised words, for trigram similarity against titles."""
        return " ".join(self.words)


def parse(query: str) -> SearchTerms | None:
    """None when the query has no searchable word (only punctuation): nothing can match."""
    if not query.strip():
        raise InvalidArgument.field("query", "is required")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgument.field("query", f"must be at most {MAX_QUERY_CHARS} characters")
    words = tuple(_WORD.findall(query.lower()))[:MAX_WORDS]
    return SearchTerms(words) if words else None
