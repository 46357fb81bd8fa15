"""Everything a run checks on the driver before Ray starts, and the resume key it derives from what it checked.

A missing model used to surface inside a Ray actor twenty seconds in, as a twenty-line traceback; a path such as
``../../etc/passwd`` was opened as a model; and resume was keyed on the input's path and a version string that
never changes, so a repaired input, an edited filter or a rebuilt model silently reused stale shards. Here every
file a stage reads is resolved (next to the recipe, then under ``models/``), must exist, be a regular file and lie
under a folder a recipe may read; its sha256 joins the key, with a hash of the package's own source and each
input's identity, so exactly what changed is redone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa

from corpus import __version__, storage
from corpus.readers import InputFile
from corpus.recipe import Recipe, RecipeError
from corpus.step import Step

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
MODELS = PACKAGE_ROOT / "models"
SHIPPED = PACKAGE_ROOT / "pipelines"
# A recipe may name files under models/, next to itself, under the working folder, or under the folders listed
# in $CORPUS_MODEL_PATH (os.pathsep-separated): never an arbitrary place on the machine.
MODEL_PATH_ENV = "CORPUS_MODEL_PATH"


def allowed_roots(recipe_dir: Path) -> list[Path]:
    extra = [Path(p) for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p]
    return [r.resolve() for r in (MODELS, SHIPPED, recipe_dir, Path.cwd(), *extra)]


def resolver(stage: str, recipe: Recipe):
    """``resolve(param, reference) -> absolute path`` for one stage; raises RecipeError naming stage and param."""
    recipe_dir = Path(recipe.path).resolve().parent
    roots = allowed_roots(recipe_dir)

    def resolve(param: str, ref: str) -> str:
        where = f"{recipe.path}: stage '{stage}', {param}"
        p = Path(ref).expanduser()
        # a copy of a shipped recipe still finds the files shipped beside it (pipelines/benchmarks/…)
        candidates = [p] if p.is_absolute() else [recipe_dir / p, MODELS / p, SHIPPED / p]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            tried = " or ".join(str(c) for c in candidates)
            raise RecipeError(f"{where}: {ref!r} not found (looked for {tried}); run `make models` for the default models, "
                              f"or give the path of your own file")
        real = found.resolve()
        if not any(real.is_relative_to(r) for r in roots):
            raise RecipeError(f"{where}: {ref!r} resolves to {real}, outside the folders a recipe may read (models/, the "
                              f"recipe's folder, the working folder); add its folder to ${MODEL_PATH_ENV} to allow it")
        if not real.is_file():
            raise RecipeError(f"{where}: {real} is not a regular file")
        if not os.access(real, os.R_OK):
            raise RecipeError(f"{where}: {real} is not readable (permission denied)")
        return str(real)

    return resolve


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_files(recipe: Recipe, steps: list[Step]) -> dict[str, str]:
    """Resolve and check every stage's files (rewriting their params to absolute paths); path -> sha256."""
    files: dict[str, str] = {}
    for step in steps:
        for path in step.files(resolver(step.stage_name, recipe)):
            files.setdefault(path, sha256_file(path))
    # the workers build their steps from the recipe: give them the resolved parameters
    recipe.stages = [dataclasses.replace(spec, params=step.params) for spec, step in zip(recipe.stages, steps)]
    return files


def localizer(files: dict[str, str], driver_root: str):
    """``resolve(param, path) -> path`` for a worker: a checked file the driver resolved is used where it is when this
    node has it; a file under the driver's checkout that this node keeps at its own checkout's path (a cluster whose
    nodes install the project in different folders) is used there once its sha256 matches the driver's, so every node
    loads the same bytes; anything else is one line saying which file and what to do."""

    def resolve(param: str, path: str) -> str:
        if Path(path).is_file():
            return path
        here = PACKAGE_ROOT / Path(path).relative_to(driver_root) if Path(path).is_relative_to(driver_root) else None
        if here is None or not here.is_file():
            raise RecipeError(f"{param}: {path} is not on this node{f' (nor {here})' if here else ''}; install the project "
                              f"and run `make models` on every node, or keep the file at the same path on each")
        if sha256_file(here) != files.get(path):
            raise RecipeError(f"{param}: {here} on this node differs from {path} on the driver (sha256); run the same "
                              f"`make models` (or copy the driver's file) on every node, so that every node keeps the same documents")
        return str(here)

    return resolve


# Modules a run's workers never execute: editing them must not redo a crawl.
NOT_IN_WORKERS = ("corpus/cli.py", "corpus/progress.py", "corpus/inspect.py", "corpus/export.py", "corpus/card.py",
                  "corpus/sample.py", "corpus/report/", "corpus/review/", "corpus/mix/", "corpus/pack/")


def code_hash(root: Path = PACKAGE_ROOT) -> str:
    """The source of what the workers run (corpus/ and filters/, less the commands around a run): an edited filter
    or reader changes it, so its shards are redone; an edited report does not."""
    h = hashlib.sha256(__version__.encode())
    for folder in ("corpus", "filters"):
        for f in sorted((root / folder).rglob("*.py")):
            rel = f.relative_to(root).as_posix()
            if not rel.startswith(NOT_IN_WORKERS):
                h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def input_identity(inp: InputFile, sample: int = 1 << 20, options: dict | None = None) -> str:
    """Size, mtime and the first and last MiB of a file (all of it when small), or of every file in a folder:
    a repaired or replaced input gets a new identity without reading a 1 GB archive end to end.

    A remote object: its URL, size and the version its store gives (ETag, checksum or generation; the mtime where
    there is nothing better), which discovery already fetched, so a thousand-object run costs no extra request;
    only a store that gives none (a plain HTTPS server) has its first and last MiB read."""
    if storage.is_url(inp.path):
        if inp.problem:
            return hashlib.sha256(f"{inp.path}\0{inp.problem}".encode()).hexdigest()[:16]
        version = inp.version or storage.sample_identity(inp.path, options, sample)
        return hashlib.sha256(f"{inp.path}\0{inp.nbytes}\0{version}".encode()).hexdigest()[:16]
    h = hashlib.sha256()
    paths = [Path(inp.path)] if not Path(inp.path).is_dir() else sorted(p for p in Path(inp.path).rglob("*") if p.is_file())
    for p in paths:
        try:
            st = p.stat()
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            with open(p, "rb") as fh:
                h.update(fh.read(sample))
                if st.st_size > 2 * sample:
                    fh.seek(-sample, os.SEEK_END)
                h.update(fh.read(sample))
        except OSError as exc:  # unreadable inputs are quarantined by the reader; their identity is the error
            h.update(str(exc).encode())
    return h.hexdigest()[:16]


def run_key(recipe: Recipe, model_files: dict[str, str], schema: pa.Schema) -> dict[str, str]:
    """The parts of the resume key shared by every shard; each shard adds its input's identity. Models count by
    content, not path (another checkout with the same files resumes); the output schema counts because a second
    pass carries its inputs' columns, and shards written under another schema would not concatenate."""
    def digest(obj: object) -> str:
        return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]

    return {"recipe": digest(recipe.raw), "code": code_hash(), "models": digest(sorted(model_files.values())),
            "schema": hashlib.sha256(schema.serialize().to_pybytes()).hexdigest()[:16]}
