import pytest

from filters.charset import decode, looks_binary
from filters.format import domain_of, normalize

ZH = "人民日报社论：迈向充满希望的新世纪。"


def test_header_charset_wins():
    assert decode(ZH.encode("gbk"), "gbk") == (ZH, "header")


def test_meta_charset_when_header_has_none():
    html = b'<html><head><meta charset="gb2312"></head><body>' + ZH.encode("gb18030") + b"</body></html>"
    text, how = decode(html, None)
    assert ZH in text and how == "meta"


def test_wrong_header_falls_through_to_detection():
    data = ("<p>" + ZH * 20 + "</p>").encode("gb18030")
    text, how = decode(data, "utf-8")
    assert ZH in text and how in {"detected", "meta"}


def test_bom_and_latin1_widening():
    assert decode("hello".encode("utf-8-sig"), None)[0] == "hello"
    assert decode("caf\u00e9 \u201cq\u201d".encode("cp1252"), "iso-8859-1")[0] == "caf\u00e9 \u201cq\u201d"


def test_binary_sniffing():
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not looks_binary("<html><body>正文</body></html>".encode())


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("a\u200bb\u00adc", "abc"),
        ("  x \t y  \n\n\n\n z ", "x y\n\nz"),
        ("ＡＢＣ１２３，。", "ABC123，。"),  # full-width letters fold, CJK punctuation stays
        ("line\r\nnext\u2028last", "line\nnext\nlast"),
        ("\u3000\u3000段落开头", "段落开头"),
        ("cafe\u0301", "caf\u00e9"),
        ("The Mona Lisa doesnâ€™t have eyebrows.", "The Mona Lisa doesn\u2019t have eyebrows."),
        ("\x00\x07", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_domain():
    assert domain_of("https://www.Example.COM:8080/a?b") == "example.com"
    assert domain_of("file:a/b.html") is None
    assert domain_of("http://[::1") is None


def test_html_title():
    from filters.extract import html_title

    assert html_title("<html><head><TITLE lang=en>\n  Caf&eacute; &amp; Bar </TITLE>") == "Café & Bar"
    assert html_title("<html><body>no title</body></html>") is None
    assert html_title("<title></title>") is None
