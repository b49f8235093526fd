"""Find likely secrets (tokens, keys, passwords) in lines of text.

The approach is detect-secrets' (Yelp): known token formats, a keyword detector for
``password = "..."`` and its kin, and Shannon-entropy checks on quoted strings with
its default limits (4.5 bits for base64, 3.0 for hex), minus its heuristic filters
for placeholders and templates. It is rewritten here rather than called because
detect-secrets costs about 80 ms to import and 0.2 ms a line, which is most of the
budget of a pre-commit hook that reads every line of every notebook; the tests
check that both find the same secrets in a shared sample.

Nothing here ever returns the secret itself: only its kind and where it starts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Known formats: (kind, literal text every match contains, pattern). The literal is
# looked for first with ``in``, which is far cheaper than running the pattern.
_FORMATS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "AWS access key",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
    ),
    ("Azure storage key", ("AccountKey=",), r"AccountKey=[A-Za-z0-9+/=]{40,}"),
    (
        "private key",
        ("PRIVATE KEY",),
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----",
    ),
    (
        "GitHub token",
        ("gh", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})",
    ),
    ("GitLab token", ("glpat-",), r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("Slack token", ("xox",), r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        "Slack webhook",
        ("hooks.slack.com",),
        r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/\w+",
    ),
    ("Stripe key", ("k_live_",), r"\b[rs]k_live_[A-Za-z0-9]{20,}"),
    (
        "OpenAI key",
        ("T3BlbkFJ",),
        r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}",
    ),
    ("Google API key", ("AIza",), r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("Hugging Face token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("PyPI token", ("pypi-",), r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    ("npm token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("SendGrid key", ("SG.",), r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
    ("Twilio key", ("AC", "SK"), r"\b(?:AC|SK)[0-9a-f]{32}\b"),
    ("Mailchimp key", ("-us",), r"\b[0-9a-f]{32}-us[0-9]{1,2}\b"),
    ("Telegram bot token", (":AA",), r"\b\d{8,10}:AA[0-9A-Za-z_-]{32,33}\b"),
    (
        "JSON web token",
        ("eyJ",),
        r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    ),
    (
        "password in a URL",
        ("://",),
        r"[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s:/@'\"]{3,}@",
    ),
)
_FORMAT_RE = [(kind, needles, re.compile(p)) for kind, needles, p in _FORMATS]

# detect-secrets' keyword denylist, for assignments and dict/keyword arguments.
_KEYWORD_STEMS = ("key", "pass", "pwd", "secret")
_KEYWORD_RE = re.compile(r"""(?ix)
    (?:api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|
       priv_?key|private_?key|client_?key|secret_?key|access_?key|db_?pass|
       database_?pass|key_?pass|password|passwd|pwd|secret)
    [\w.-]*["']?                        # the rest of the name, a closing quote
    [ \t]*(?:=|:|:=|==)[ \t]*           # assignment, mapping or comparison
    [rbuf]?(?P<q>["'])(?P<value>[^"'\n]+)(?P=q)
    """)
_QUOTED_RE = re.compile(r"""(?P<q>["'])(?P<value>[^"'\s]{20,})(?P=q)""")
_BASE64 = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
)
_HEX = frozenset("0123456789abcdefABCDEF")
_BASE64_LIMIT = 4.5
_HEX_LIMIT = 3.0
_PLACEHOLDER_RE = re.compile(
    r"(?ix)^(?:|x+|\*+|\.+|-+|_+|none|null|true|false|changeme|change[_ -]?me|"
    r"password|secret|token|your[_ -].*|my[_ -].*|<.*>|\{.*\}|\$\{?.*|%\(.*\)s|"
    r"example.*|test|dummy|placeholder|redacted|\.\.\.)$"
)


@dataclass(frozen=True, order=True)
class Secret:
    """A likely secret: where it starts (line and column, from 1) and what kind it
    looks like."""

    line: int
    col: int
    kind: str


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``, as detect-secrets computes it."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _high_entropy(value: str) -> str | None:
    chars = set(value)
    if chars <= _HEX:
        # detect-secrets discounts all-digit strings: numbers are not keys.
        entropy = shannon_entropy(value)
        if value.isdigit():
            entropy -= 1.2 / math.log2(len(value))
        return "hex high-entropy string" if entropy > _HEX_LIMIT else None
    if chars <= _BASE64 and shannon_entropy(value) > _BASE64_LIMIT:
        return "base64 high-entropy string"
    return None


def _is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_RE.match(value.strip())) or len(set(value)) <= 2


def find_secrets(text: str) -> list[Secret]:
    """The likely secrets in ``text`` (any number of lines), first by position;
    never their values."""
    found: dict[int, str] = {}  # offset -> kind
    spans: list[tuple[int, int]] = []
    for kind, needles, pattern in _FORMAT_RE:
        for needle in needles:
            if needle in text:
                break
        else:
            continue
        for m in pattern.finditer(text):
            found.setdefault(m.start(), kind)
            spans.append(m.span())

    def claimed(start: int) -> bool:
        return any(a <= start < b for a, b in spans)

    lower = text.lower()
    if any(stem in lower for stem in _KEYWORD_STEMS):
        for m in _KEYWORD_RE.finditer(text):
            if not _is_placeholder(m.group("value")) and not claimed(m.start("value")):
                found.setdefault(m.start(), "password or key")
                spans.append(m.span("value"))
    if "'" in text or '"' in text:
        for m in _QUOTED_RE.finditer(text):
            value = m.group("value")
            if claimed(m.start("value")) or _is_placeholder(value):
                continue
            entropy = _high_entropy(value)
            if entropy is not None:
                found.setdefault(m.start("value"), entropy)
    secrets = []
    for offset in sorted(found):
        line_start = text.rfind("\n", 0, offset) + 1
        line = text.count("\n", 0, offset) + 1
        secrets.append(Secret(line, offset - line_start + 1, found[offset]))
    return secrets
