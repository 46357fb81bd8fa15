"""PII detection and masking for zh and en web text, validated rather than pattern-only.

Patterns find candidates; validators reject look-alikes: Chinese resident ID numbers must carry a real
birth date and the GB 11643 check digit, bank cards a known issuer prefix and the Luhn digit, IP addresses
must parse. Nothing inside a URL is touched (a masked URL is a broken link, and numbers in URLs are ids), and
digits glued to other digits never match, so a phone number is not found inside an order number.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Iterator

TYPES = ("email", "phone", "id_number", "ip", "bank_card")
PLACEHOLDER = {"email": "[EMAIL]", "phone": "[PHONE]", "id_number": "[ID_NUMBER]", "ip": "[IP]", "bank_card": "[BANK_CARD]"}

_URL = re.compile(r"(?i)\b(?:https?|ftp)://[^\s<>\"'）】]+|\bwww\.[^\s<>\"'）】]+")
# Boundaries are ASCII on purpose: in Chinese text a number sits right next to Han characters, which \w matches.
_EMAIL = re.compile(r"(?<![A-Za-z0-9_.+/:-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}"
                    r"(?![A-Za-z0-9_@-]|:[A-Za-z0-9]|/)")
_D = r"(?<![0-9A-Za-z_.+])"  # not glued to a digit, a Latin letter or a decimal point
_E = r"(?![0-9A-Za-z_]|\.\d)"
_PHONE = re.compile(
    _D + r"(?:"
    r"(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}"                                   # zh mobile, 11 digits
    r"|(?:\(0\d{2,3}\)|0\d{2,3}-)[ -]?[2-9]\d{3}-?\d{3,4}"                        # zh landline: (010)12345678, 0755-8888-8888
    r"|\+\d{1,3}[ -]?(?:\(\d{1,4}\)[ -]?)?\d{2,4}(?:[ -]\d{2,8}){1,4}"           # international, with +
    r"|\(\d{3}\)[ -]?\d{3}-\d{4}|\d{3}-\d{3}-\d{4}"                               # North American
    r")" + _E)
_ID = re.compile(_D + r"[1-8]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _E)
_IPV4 = re.compile(_D + r"(?:\d{1,3}\.){3}\d{1,3}" + _E)
_IPV6 = re.compile(r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%[0-9A-Za-z]+)?(?![0-9A-Za-z_:.])")
_CARD = re.compile(_D + r"\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}" + _E)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_checksum_ok(s: str) -> bool:
    """GB 11643-1999: 18-digit resident ID with a real birth date and the ISO 7064 MOD 11-2 check digit."""
    s = s.upper()
    try:
        datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    check = "10X98765432"[sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS)) % 11]
    return s[17] == check


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def card_ok(raw: str) -> bool:
    """A known issuer range, its length, and the Luhn digit (random 16-digit numbers pass Luhn 1 in 10)."""
    d = re.sub(r"[ -]", "", raw)
    n = len(d)
    issuer = (
        (d[0] == "4" and n in (13, 16, 19))
        or (51 <= int(d[:2]) <= 55 and n == 16) or (2221 <= int(d[:4]) <= 2720 and n == 16)
        or (d[:2] in ("34", "37") and n == 15)
        or (d[:2] == "62" and 16 <= n <= 19)
        or (d[:2] == "35" and n == 16) or ((d[:4] == "6011" or d[:2] == "65") and n == 16)
    )
    return issuer and luhn_ok(d)


def _ip_ok(raw: str, version: int) -> bool:
    try:
        addr = ipaddress.ip_address(raw.split("%")[0])
    except ValueError:
        return False
    if version == 6:
        return addr.version == 6 and raw.count(":") >= 2 and sum(c in "0123456789abcdefABCDEF" for c in raw) >= 3
    return addr.version == 4


def find(text: str) -> list[tuple[str, int, int]]:
    """Validated PII spans (type, start, end), non-overlapping, outside URLs, in text order."""
    blocked = [(m.start(), m.end()) for m in _URL.finditer(text)]
    spans: list[tuple[str, int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in blocked) and not any(a < y and x < b for _, x, y in spans)

    def add(kind: str, matches: Iterator[re.Match], ok=lambda s: True) -> None:
        for m in matches:
            if free(m.start(), m.end()) and ok(m.group(0)):
                spans.append((kind, m.start(), m.end()))

    # most specific first: an ID number or card must not be half-eaten by the phone pattern
    add("email", _EMAIL.finditer(text))
    add("id_number", _ID.finditer(text), id_checksum_ok)
    add("bank_card", _CARD.finditer(text), card_ok)
    add("ip", _IPV4.finditer(text), lambda s: _ip_ok(s, 4))
    add("ip", _IPV6.finditer(text), lambda s: _ip_ok(s, 6))
    add("phone", _PHONE.finditer(text))
    return sorted(spans, key=lambda s: s[1])


def mask(text: str) -> tuple[str, dict[str, int]]:
    """The text with each PII span replaced by its typed placeholder, and counts per type."""
    spans = find(text)
    counts = dict.fromkeys(TYPES, 0)
    if not spans:
        return text, counts
    out, last = [], 0
    for kind, a, b in spans:
        out += [text[last:a], PLACEHOLDER[kind]]
        last = b
        counts[kind] += 1
    return "".join(out) + text[last:], counts
