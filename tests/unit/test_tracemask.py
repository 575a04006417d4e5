"""Secrets out of Playwright traces: records parsed and cleaned where each string stands."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from runner_container.runner.masking import Masker
from runner_container.runner.tracemask import TraceNotKept, clean_trace
from tests.secretscan import leaks

SECRET = 'Kx7&q "w <z9'


def a_trace(tmp_path: Path, entries: dict[str, Any]) -> Path:
    """A trace.zip: JSON-lines entries given as lists of records, others as text or bytes."""
    path = tmp_path / "trace.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, content in entries.items():
            if isinstance(content, list):
                content = "".join(json.dumps(record) + "\n" for record in content)
            z.writestr(name, content)
    return path


def read(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def records(data: bytes) -> list[Any]:
    return [json.loads(line) for line in data.decode().splitlines()]


def snapshot(html: Any, frame: str = "frame@1") -> dict[str, Any]:
    return {"type": "frame-snapshot", "snapshot": {"callId": "c@1", "frameId": frame, "html": html}}


def assert_clean(entries: dict[str, bytes]) -> None:
    found = {name: where for name, data in entries.items() if (where := leaks(data, SECRET))}
    assert found == {}


def test_a_query_string_split_at_ampersand_is_masked_with_its_url(tmp_path: Path) -> None:
    # Given a HAR entry of a URL that held the secret raw: the '&' split it over two query parameters
    request = {
        "method": "GET",
        "url": f"http://127.0.0.1:1/?t={SECRET}&page=2",
        "queryString": [
            {"name": "t", "value": "Kx7"},
            {"name": 'q "w <z9', "value": ""},
            {"name": "page", "value": "2"},
        ],
        "headers": [{"name": "Accept", "value": "text/html"}],
    }
    trace = a_trace(tmp_path, {"trace.network": [{"type": "resource-snapshot", "snapshot": {"request": request}}]})

    # When the trace is cleaned
    notes = clean_trace(trace, Masker([SECRET]))

    # Then the pieces are masked, the other parameters and headers kept
    cleaned = records(read(trace)["trace.network"])[0]["snapshot"]["request"]
    assert cleaned["url"] == "http://127.0.0.1:1/?t=***&page=2"
    assert cleaned["queryString"] == [
        {"name": "t", "value": "***"},
        {"name": "***", "value": ""},
        {"name": "page", "value": "2"},
    ]
    assert cleaned["headers"] == request["headers"] and notes == []
    assert_clean(read(trace))


def test_snapshot_text_split_over_elements_is_cut_out_as_the_page_shows_it(tmp_path: Path) -> None:
    # Given DOM snapshots showing the secret split over text nodes, and in other case and spacing
    split = ["HTML", {}, ["BODY", {}, ["P", {}, "Your password is ", ["B", {}, "Kx7"], '&q "w <z9', "!"]]]
    shouted = ["HTML", {}, ["BODY", {}, ["P", {}, "KX7&Q", ["I", {}, ' "W'], " <Z9 (done)"]]]
    blocks = ["HTML", {}, ["BODY", {}, ["DIV", {}, "Kx7&q"], ["DIV", {}, '"w <z9']]]  # two lines: not joined
    trace = a_trace(tmp_path, {"trace.trace": [snapshot(split), snapshot(shouted, "frame@2"), snapshot(blocks, "f3")]})

    # When the trace is cleaned
    clean_trace(trace, Masker([SECRET]))

    # Then each occurrence is cut out of the text nodes it spans; the rest of the page stays
    first, second, third = (r["snapshot"]["html"] for r in records(read(trace)["trace.trace"]))
    assert first == ["HTML", {}, ["BODY", {}, ["P", {}, "Your password is ", ["B", {}, "***"], "", "!"]]]
    assert second == ["HTML", {}, ["BODY", {}, ["P", {}, "***", ["I", {}, " "], "  (done)"]]]  # spaces kept
    assert third == blocks


def test_snapshot_text_split_over_a_reference_to_an_earlier_snapshot_is_cut_out(tmp_path: Path) -> None:
    # Given a snapshot that reuses a node of the one before (post-order: "Kx7&q" 0, B 1, P 2, BODY 3, HTML 4)
    # and adds the rest of the secret after it
    before = ["HTML", {}, ["BODY", {}, ["P", {}, ["B", {}, "Kx7&q"]]]]
    after = ["HTML", {}, ["BODY", {}, ["P", {}, [[1, 1]], ' "w <z9 shown']]]
    trace = a_trace(tmp_path, {"trace.trace": [snapshot(before), {"type": "before"}, snapshot(after)]})

    # When the trace is cleaned
    clean_trace(trace, Masker([SECRET]))

    # Then the text is cut where it is stored: in the earlier snapshot too; the reference stays valid
    cleaned = records(read(trace)["trace.trace"])
    assert cleaned[0]["snapshot"]["html"] == ["HTML", {}, ["BODY", {}, ["P", {}, ["B", {}, "***"]]]]
    assert cleaned[2]["snapshot"]["html"] == ["HTML", {}, ["BODY", {}, ["P", {}, [[1, 1]], "  shown"]]]


def test_json_nested_in_json_any_levels_deep_is_masked_and_stays_json(tmp_path: Path) -> None:
    # Given a console message holding JSON that holds JSON that holds the secret (escaped three levels deep)
    inner = json.dumps({"user": "admin", "password": SECRET})
    text = json.dumps({"request": {"body": inner}, "status": 200})
    trace = a_trace(tmp_path, {"trace.trace": [{"type": "console", "text": text, "args": [{"preview": inner}]}]})

    # When the trace is cleaned
    clean_trace(trace, Masker([SECRET]))

    # Then the secret is masked at its own level, and the strings still parse as the same JSON
    record = records(read(trace)["trace.trace"])[0]
    outer = json.loads(record["text"])
    assert outer["status"] == 200 and json.loads(outer["request"]["body"]) == {"user": "admin", "password": "***"}
    assert json.loads(record["args"][0]["preview"]) == {"user": "admin", "password": "***"}


def test_a_form_body_is_decoded_masked_and_encoded_again(tmp_path: Path) -> None:
    # Given post bodies with the secret form-encoded, and percent-encoded twice (a client that encodes again)
    once = "user=admin&password=Kx7%26q+%22w+%3Cz9&remember=on"
    twice = "user=admin&password=Kx7%2526q%2520%2522w%2520%253Cz9"
    post = {"mimeType": "application/x-www-form-urlencoded", "text": twice, "_file": "resources/b.dat"}
    trace = a_trace(
        tmp_path,
        {
            "trace.network": [{"type": "resource-snapshot", "snapshot": {"request": {"postData": post}}}],
            "resources/a.dat": once,
            "resources/b.dat": twice,
        },
    )

    # When the trace is cleaned
    clean_trace(trace, Masker([SECRET]))

    # Then each body keeps its other fields (the masker knows percent-encoding twice: masked where it stands)
    entries = read(trace)
    assert entries["resources/a.dat"] == b"user=admin&password=***&remember=on"
    assert entries["resources/b.dat"] == b"user=admin&password=***"
    assert records(entries["trace.network"])[0]["snapshot"]["request"]["postData"]["text"] == (
        "user=admin&password=***"
    )
    assert_clean(entries)


@pytest.mark.parametrize(
    "page",
    [
        "<p>Kx7&amp;amp;q &amp;quot;w &amp;lt;z9</p>",  # HTML-escaped twice
        "<!doctype html><p>Your password is <b>Kx7&amp;q</b> &quot;w &lt;<i>z9</i></p>",  # split by markup
    ],
)
def test_a_text_resource_whose_secret_cannot_be_masked_in_place_is_replaced_and_said(tmp_path: Path, page: str) -> None:
    # Given a page that holds the secret in a form no mask can cut out of its bytes, and a stylesheet
    trace = a_trace(tmp_path, {"resources/page.html": page, "resources/site.css": "p{color:red}"})

    # When the trace is cleaned
    notes = clean_trace(trace, Masker([SECRET]))

    # Then that resource is replaced, and the notes say so
    entries = read(trace)
    assert entries["resources/page.html"] == b"***" and entries["resources/site.css"] == b"p{color:red}"
    assert notes == ["resources/page.html: replaced: it holds a secret in a form that cannot be masked in place"]


def test_a_page_that_shows_the_secrets_pieces_on_separate_lines_is_kept(tmp_path: Path) -> None:
    page = "<html><div>Kx7&amp;q</div><div>&quot;w &lt;z9</div><script>var s = 'Kx7&q';</script></html>"
    trace = a_trace(tmp_path, {"resources/page.html": page})

    assert clean_trace(trace, Masker([SECRET])) == []
    assert read(trace)["resources/page.html"] == page.encode()


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        ({"resources/logo.png": b"\x89PNG\r\n\x1a\n tEXt " + SECRET.encode() + b"\xff\xfe"}, "resources/logo.png"),
        ({"resources/font.woff2": b"\xff\xfe" + SECRET.encode("utf-16-le")}, "resources/font.woff2"),
        ({"trace.trace": '{"type":"before"}\n{"type":"log","message":"Kx7&q \\"w <z9'}, "line 2 of trace.trace"),
    ],
)
def test_a_trace_with_a_secret_that_cannot_be_removed_is_not_kept(
    tmp_path: Path, entries: dict[str, Any], why: str
) -> None:
    trace = a_trace(tmp_path, entries)

    with pytest.raises(TraceNotKept, match=why):
        clean_trace(trace, Masker([SECRET]))

    assert read(trace) == {n: c if isinstance(c, bytes) else c.encode() for n, c in entries.items()}  # untouched
    assert not list(tmp_path.glob("*.clean"))


def test_a_binary_resource_without_the_secret_is_kept_as_it_is(tmp_path: Path) -> None:
    image = b"\x89PNG\r\n\x1a\n\xff\xfe pixels"
    trace = a_trace(tmp_path, {"resources/logo.png": image, "trace.trace": [{"type": "before"}]})

    assert clean_trace(trace, Masker([SECRET])) == []
    assert read(trace)["resources/logo.png"] == image


def test_screencast_frames_and_their_events_can_be_dropped(tmp_path: Path) -> None:
    # Given a trace with screencast frames (pictures of the page, which cannot be masked)
    frame = "screencast/page@1-1.jpeg"
    trace = a_trace(
        tmp_path,
        {
            "trace.trace": [{"type": "before"}, {"type": "screencast-frame", "file": frame}, {"v": "hunter2"}],
            frame: b"\xff\xd8hunter2",
            "resources/abc.css": "b{}",
        },
    )

    # When it is cleaned with drop_frames
    clean_trace(trace, Masker(["hunter2"]), drop_frames=True)

    # Then the frames and the events that point at them are gone, the rest is masked
    entries = read(trace)
    assert sorted(entries) == ["resources/abc.css", "trace.trace"]
    assert entries["trace.trace"] == b'{"type":"before"}\n{"v":"***"}\n'


def test_records_come_back_as_compact_json_with_their_lone_surrogates_escaped(tmp_path: Path) -> None:
    trace = a_trace(tmp_path, {"trace.trace": '{"type": "log", "message": "caf\\u00e9 \\ud800 hunter2"}\n'})

    clean_trace(trace, Masker(["hunter2"]))

    assert read(trace)["trace.trace"] == '{"type":"log","message":"café \\ud800 ***"}\n'.encode()


@pytest.mark.parametrize(
    "body",
    [
        ["X-A", {}, "Kx7&q"],  # a custom element: joined
        ["BIG", {}, "Kx7&q"],
        ["DIV", {"style": "color: red; display: inline-block"}, "Kx7&q"],  # laid out inline by its style
    ],
)
def test_snapshot_text_is_joined_across_every_element_but_a_block(tmp_path: Path, body: list[Any]) -> None:
    html = ["HTML", {}, ["BODY", {}, ["SECTION", {}, body, ' "w <z9']]]
    trace = a_trace(tmp_path, {"trace.trace": [snapshot(html)], "resources/page.html": "<!doctype html>" + _html(html)})

    clean_trace(trace, Masker([SECRET]))

    entries = read(trace)
    assert records(entries["trace.trace"])[0]["snapshot"]["html"] == [
        "HTML",
        {},
        ["BODY", {}, ["SECTION", {}, [body[0], body[1], "***"], " "]],  # (spaces are kept)
    ]
    assert entries["resources/page.html"] == b"***"


def test_snapshot_text_in_another_unicode_form_is_cut_out(tmp_path: Path) -> None:
    shown = "\uff2b\uff58\uff17\uff06\uff51\u3000\uff02\uff57\u3000\uff1c\uff5a\uff19"  # fullwidth
    trace = a_trace(
        tmp_path, {"trace.trace": [snapshot(["HTML", {}, ["BODY", {}, ["P", {}, ["B", {}, shown[:4]], shown[4:]]]])]}
    )

    clean_trace(trace, Masker([SECRET]))

    assert records(read(trace)["trace.trace"])[0]["snapshot"]["html"] == [
        "HTML",
        {},
        ["BODY", {}, ["P", {}, ["B", {}, "***"], ""]],
    ]


def _html(node: Any) -> str:
    if isinstance(node, str):
        return node.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    attrs = "".join(f' {k}="{v}"' for k, v in node[1].items())
    tag = node[0].lower()
    return f"<{tag}{attrs}>" + "".join(map(_html, node[2:])) + f"</{tag}>"


def test_a_snapshot_element_without_attributes_is_read(tmp_path: Path) -> None:
    html = ["HTML", {}, ["BODY", {}, ["P", {}, ["B", {}, "Kx7&q"], ["WBR"], ' "w <z9'], ["BR"]]]
    trace = a_trace(tmp_path, {"trace.trace": [snapshot(html)]})

    clean_trace(trace, Masker([SECRET]))

    body = ["BODY", {}, ["P", {}, ["B", {}, "***"], ["WBR"], " "], ["BR"]]
    assert records(read(trace)["trace.trace"])[0]["snapshot"]["html"] == ["HTML", {}, body]
