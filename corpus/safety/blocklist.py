"""URL and domain blocklists stored as sorted 64-bit hashes in a memory-mapped .npy file.

FineWeb's UT1-derived adult list has 4.5M domains: as a Python set that is ~600 MB in every worker. As sorted
xxh3-64 hashes it is 36 MB on disk, memory-mapped, so every worker on a node shares the same page-cache
pages and only touches the few it binary-searches. A host matches when it or any parent domain is listed
(``a.b.example.com`` checks ``a.b.example.com``, ``b.example.com``, ``example.com``), so sub-domains are
covered without a public-suffix table; full URLs are matched after the same normalisation as URL dedup.
A 64-bit hash collision (a clean domain taken for a listed one) has odds of about 4.5M / 2^64 per lookup.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from typing import Iterable

import numpy as np
import xxhash

from corpus.dedup.minhash import url_key


def domain_hash(domain: str) -> int:
    return xxhash.xxh3_64_intdigest(domain.strip().lower().rstrip(".").removeprefix("www.").encode("utf-8", "surrogatepass"))


def parents(host: str) -> list[str]:
    labels = host.lower().rstrip(".").removeprefix("www.").split(".")
    return [".".join(labels[i:]) for i in range(max(1, len(labels) - 1))] if host else []


class Blocklist:
    def __init__(self, category: str, domains: Path, urls: Path | None = None) -> None:
        self.category = category
        self.domains = np.load(domains, mmap_mode="r")
        self.urls = np.load(urls, mmap_mode="r") if urls and urls.exists() else np.empty(0, np.uint64)

    @staticmethod
    def _has(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
        if not len(table) or not len(keys):
            return np.zeros(len(keys), bool)
        pos = np.searchsorted(table, keys).clip(max=len(table) - 1)
        return np.asarray(table[pos]) == keys

    def match(self, hosts: list[str | None], urls: list[str | None]) -> np.ndarray:
        """Per document: is its host (or a parent domain) or its URL listed?"""
        owner, keys = [], []
        for i, host in enumerate(hosts):
            for d in parents(host or ""):
                owner.append(i)
                keys.append(domain_hash(d))
        hit = np.zeros(len(hosts), bool)
        if keys:
            found = self._has(self.domains, np.array(keys, np.uint64))
            hit[np.array(owner)[found]] = True
        if len(self.urls):
            hit |= self._has(self.urls, np.array([url_key(u) for u in urls], np.uint64))
        return hit


def _lines(data: bytes) -> Iterable[str]:
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def save_hashes(values: Iterable[int], path: Path) -> int:
    arr = np.unique(np.fromiter(values, dtype=np.uint64))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    return len(arr)


def build(source: Path, category: str, out_dir: Path) -> dict[str, int]:
    """Build ``<category>.domains.npy`` (and ``.urls.npy``) from a UT1-style folder or .tar.gz holding
    ``domains`` and ``urls`` files (one entry per line), or from a plain file of domains."""
    files: dict[str, bytes] = {}
    if source.is_dir():
        for name in ("domains", "urls"):
            if (source / name).is_file():
                files[name] = (source / name).read_bytes()
    elif source.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(source) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if member.isfile() and name in ("domains", "urls"):
                    files[name] = tar.extractfile(member).read()
    else:
        files["domains"] = source.read_bytes()
    if "domains" not in files:
        raise ValueError(f"{source}: no 'domains' list found (expected a UT1-style folder/tarball or a file of domains)")
    counts = {"domains": save_hashes((domain_hash(d) for d in _lines(files["domains"])), out_dir / f"{category}.domains.npy")}
    if "urls" in files:
        urls = (u if "://" in u else f"http://{u}" for u in _lines(files["urls"]))
        counts["urls"] = save_hashes((url_key(u) for u in urls), out_dir / f"{category}.urls.npy")
    return counts
