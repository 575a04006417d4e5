"""The masker: every plausible spelling of a secret is masked, text is masked before it is cut, and no
secret makes masking slow."""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from runner_container.runner.masking import MASK, Masker, fold

SECRET = 'p@ss w0rd!"x<é😀>&'
#: the parts of SECRET that no masked text may still contain, however it was spelled
PIECES = ("p@ss", "p%40ss", "w0rd", "cA", "dzByZ")
RFC3986_SUB_DELIMS = "!$&'()*+,;="

ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "percent, nothing safe": lambda s: quote(s, safe=""),
    "percent, the default safe set": quote,
    "percent, RFC 3986 sub-delims and :@ safe": lambda s: quote(s, safe=RFC3986_SUB_DELIMS + ":@/?"),
    "percent, lower-case hex": lambda s: "".join(c if c.isalnum() else quote(c, safe="").lower() for c in s),
    "form (quote_plus)": quote_plus,
    "form, sub-delims safe": lambda s: quote_plus(s, safe=RFC3986_SUB_DELIMS),
    "JSON, ensure_ascii": lambda s: json.dumps(s),
    "JSON, UTF-8": lambda s: json.dumps(s, ensure_ascii=False),
    "JSON of a JSON string (a trace holding a JSON body)": lambda s: json.dumps(json.dumps(s)),
    "HTML escaping": html.escape,
    "HTML escaping, quotes kept": lambda s: html.escape(s, quote=False),
    "numeric HTML character references": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "JavaScript \\x escapes": lambda s: "".join(f"\\x{ord(c):02x}" if ord(c) < 256 else c for c in s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 inside user:secret (Basic auth)": lambda s: base64.b64encode(f"user:{s}".encode()).decode(),
    "base64 URL-safe, one byte in": lambda s: base64.urlsafe_b64encode(f"u{s}".encode()).decode(),
}


@pytest.mark.parametrize("name", ENCODINGS)
def test_every_spelling_of_a_secret_is_masked(name: str) -> None:
    # Given a secret with characters every encoder treats differently
    masker = Masker([SECRET])
    encoded = ENCODINGS[name](SECRET)

    # When text holding it in that spelling is masked
    masked = masker.text(f"before {encoded} after")

    # Then nothing of the secret is left, and the text around it is
    assert MASK in masked, masked
    assert not any(piece in masked for piece in PIECES), masked
    assert masked.startswith("before ") and masked.endswith(" after")


def test_chromium_style_percent_encoding_of_a_query_value() -> None:
    # (Chromium leaves "@" and "!" alone in a query but encodes the space and the quote)
    masker = Masker(['p@ss w0rd!"x'])
    assert masker.text("GET /api?token=p@ss%20w0rd!%22x HTTP/1.1") == "GET /api?token=*** HTTP/1.1"


def test_secrets_made_of_escape_characters_are_masked_in_their_own_spellings() -> None:
    for secret in ("a%25b", "x\\\\y", "q&amp;r", "%%%", "\\u0041"):
        masker = Masker([secret])
        for spelled in (secret, json.dumps(secret)[1:-1], quote(secret, safe=""), html.escape(secret)):
            assert masker.text(f"<{spelled}>") == "<***>", (secret, spelled)


@pytest.mark.parametrize(
    ("secret", "text"),
    [("\\" * 20 + "x", "\\" * 40_000), ("%" * 20 + "x", "%25" * 20_000), ("&" * 20 + "x", "&amp;" * 20_000)],
)
def test_masking_never_backtracks_badly(secret: str, text: str) -> None:
    masker = Masker([secret])
    started = time.perf_counter()
    masker.text(text)
    assert time.perf_counter() - started < 1.0


def test_a_longer_secret_wins_over_a_secret_inside_it() -> None:
    masker = Masker(["abc", "xxabcxx"])
    assert masker.text("1 xxabcxx 2 abc") == "1 *** 2 ***"


def test_clip_masks_before_it_cuts() -> None:
    # Given a long secret that straddles the cut
    token = "eyJhbGciOiJIUzI1NiJ9." + "A" * 150 + ".sig" + "B" * 100
    masker = Masker([token])
    text = json.dumps({"token": token})

    # When the text is cut to 200 characters
    clipped = masker.clip(text, 200)

    # Then the secret is masked whole: not even its start is left
    assert clipped == '{"token": "***...'
    assert "eyJhbGci" not in masker.clip("x" * 190 + token, 200)


def test_clip_of_a_huge_text_is_cheap_and_marked() -> None:
    masker = Masker(["hunter2"])
    huge = "hunter2 " + "y" * 20_000_000
    started = time.perf_counter()
    clipped = masker.clip(huge, 2000, marker=" [cut]")
    assert time.perf_counter() - started < 0.5
    assert clipped.startswith("*** y") and clipped.endswith(" [cut]") and len(clipped) < 2010


def test_a_short_secret_is_masked_in_text_only_where_it_occurs() -> None:
    masker = Masker(["2026"])
    assert masker.text("PIN 2026") == "PIN ***"
    assert masker.clip("abc", 10) == "abc"


def test_origin_says_where_without_the_message() -> None:
    from runner_container.runner.masking import origin

    try:
        raise ValueError("secret-value-123")
    except ValueError as exc:
        where = origin(exc)
    assert where.startswith("ValueError at ") and "test_masking.py" in where
    assert "secret-value-123" not in where


# ------------------------------------------------------------------ whole spellings, for the page scanner

PAGE_SECRETS = (SECRET, "Vq7Lm&Zr42x", 'Kx7&q "w <z9', "%%25x", "ab")


@pytest.mark.parametrize("secret", PAGE_SECRETS)
def test_every_whole_spelling_the_page_is_searched_for_is_masked_whole_in_text(secret: str) -> None:
    # (one list of spellings: what the page scanner looks for, the masker masks where it stands)
    masker = Masker([secret])
    spellings = masker.literal_spellings()

    assert secret in spellings and secret[::-1] in spellings
    assert [s for s in spellings if masker.text(f"<{s}>") != f"<{MASK}>"] == []


#: (the lower-case hex encoding above keeps "é" but escapes "😀": a mix no encoder writes, which the text masker
#: matches and the page scanner does not look for)
PAGE_ENCODINGS = [name for name in ENCODINGS if name != "percent, lower-case hex"]


@pytest.mark.parametrize("name", PAGE_ENCODINGS)
def test_every_encoding_of_a_secret_holds_a_whole_spelling_the_page_is_searched_for(name: str) -> None:
    # Given the secret as an encoder writes it, shown on a page (the page scanner compares folded text)
    shown = fold(f"before {ENCODINGS[name](SECRET)} after")

    # Then one of the spellings the page scanner looks for is in it
    assert any(fold(spelling) in shown for spelling in Masker([SECRET]).literal_spellings())


@pytest.mark.parametrize(
    ("encoded", "why"),
    [
        (quote(quote("Vq7Lm&Zr42x", safe=""), safe=""), "percent-encoded twice"),
        (b"Vq7Lm&Zr42x".hex(), "hex"),
        (b"Vq7Lm&Zr42x".hex().upper(), "HEX"),
        ("x24rZ&mL7qV", "reversed (shown in order under a right-to-left override)"),
    ],
)
def test_spellings_no_character_rule_writes_are_masked(encoded: str, why: str) -> None:
    assert Masker(["Vq7Lm&Zr42x"]).text(f"[{encoded}]") == "[***]", why


def test_a_short_secret_has_no_hex_spelling() -> None:
    # (hex of a few bytes is too likely in a trace's hashes and ids)
    assert Masker(["abc"]).text("616263 and 2Fabc") == "616263 and 2F***"


def test_the_page_fold_drops_whitespace_invisible_characters_and_case() -> None:
    assert fold(" Vq\u200b7\u00adL\u2060m\ufeff&\u200dZ\u202er\n4\t2X ") == "vq7lm&zr42x"


def test_the_page_fold_composes_compatibility_and_decomposed_forms_and_folds_case() -> None:
    assert fold("\uff2b\uff58\uff17\u3000\uff06") == "kx7&"  # fullwidth
    assert fold("e\u0301t\u00e9") == fold("\u00e9t\u00e9") == "\u00e9t\u00e9"  # NFD and NFC alike
    assert fold("STRASSE") == fold("stra\u00dfe") == "strasse"


def test_a_secret_sent_back_as_a_json_number_is_masked_in_data() -> None:
    # A system under test may answer {"pin": 98765432} to a request that sent the secret "98765432"
    masker = Masker()
    masker.add("98765432")
    answer = {"num": 98765432, "ratio": 98765432.0, "other": 12, "ok": True, "nested": [{"n": 98765432}]}
    assert masker.data(answer) == {"num": "***", "ratio": "***", "other": 12, "ok": True, "nested": [{"n": "***"}]}
    assert masker.data({"98765432": 1}) == {"***": 1}  # keys too
    assert Masker().data({"n": 98765432}) == {"n": 98765432}  # no secrets: numbers stay numbers
