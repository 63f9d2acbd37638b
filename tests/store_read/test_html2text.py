"""HTML bodies rendered as text for the terminal."""

from __future__ import annotations

import pytest

from postier.store.read.html2text import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<p>  spaced\n  out   words </p>", "spaced out words"),
        ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
        ("<ol><li>x</li><li>y<ul><li>z</li></ul></li></ol>", "1. x\n2. y\n   - z"),
        ("<blockquote><p>q1</p><p>q2</p></blockquote>", "> q1\n>\n> q2"),
        ("<pre>  keep\n    this</pre>", "  keep\n    this"),
        ("<a href='https://x.org/r?t=1'>reset</a>", "reset (https://x.org/r?t=1)"),
        ("<a href='https://x.org'>https://x.org</a>", "https://x.org"),
        ("<a href='mailto:a@b'>a@b</a>", "a@b"),
        ("<a href='#top'>top</a>", "top"),
        ("<img src='x.png' alt='Logo'> text", "[Logo] text"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a  b\nc  d"),
        ("x &amp; y &lt;z&gt; &eacute; &#233;", "x & y <z> é é"),
        ("<head><title>T</title><style>p{}</style></head><script>alert(1)</script>body", "body"),
        ("<div style='display: none'>preheader <b>x</b></div>visible", "visible"),
        ("<div style='display:none'><div>nested</div>still hidden</div>shown", "shown"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("", ""),
        ("<hr>", "-" * 40),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
