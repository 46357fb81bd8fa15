"""`make models` (safety part): the default blocklist and English porn word list, from the datatrove wheel.

datatrove ships FineWeb's UT1-derived adult domain and URL lists and C4's banned-word list as package
assets. We fetch its wheel from the package registry without installing it (or its dependencies), read
the two assets out of the zip, and keep only compact derivatives under models/: nothing is downloaded
when a pipeline runs. Idempotent: skipped when the outputs exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from corpus.models import models_dir
from corpus.safety.blocklist import build

WHEEL = "datatrove==0.10.1"
LIST_ASSET = "datatrove/assets/url_filterblacklistsv0_3_0.tar.gz"
WORDS_ASSET = "datatrove/assets/banned_words.txt"


def build_assets(out: Path) -> dict:
    done = out / "blocklists" / "adult.domains.npy"
    words = out / "wordlists" / "en_porn.txt"
    card = out / "blocklists" / "CARD.json"
    if done.exists() and words.exists() and card.exists() and (out / "wordlists" / "innocent.txt").exists():
        return json.loads(card.read_text())
    cache = out / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("datatrove-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(cache)], check=True)
        wheels = sorted(cache.glob("datatrove-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as z, tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / "lists.tar.gz"
        tarball.write_bytes(z.read(LIST_ASSET))
        counts = build(tarball, "adult", out / "blocklists")
        words.parent.mkdir(parents=True, exist_ok=True)
        words.write_bytes(z.read(WORDS_ASSET))
    from corpus.safety.words import default_lists, innocent_words
    from corpus.sample import chinese_sentences, english_paragraphs

    (out / "wordlists" / "innocent.txt").unlink(missing_ok=True)
    innocent = innocent_words(default_lists(out), english_paragraphs() + ["".join(chinese_sentences(20000))])
    (out / "wordlists" / "innocent.txt").write_text("\n".join(innocent), encoding="utf-8")
    info = {"source": f"{wheels[-1].name}: {LIST_ASSET} (FineWeb's UT1-derived adult list), {WORDS_ASSET}",
            "adult": counts, "innocent_words": len(innocent), "format": "sorted xxh3-64 hashes of normalised domains / URLs (numpy .npy)"}
    card.write_text(json.dumps(info, indent=1))
    return info


if __name__ == "__main__":
    print(json.dumps(build_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else models_dir())))
