"""Where the models and lists that `make models` builds live, and how a recipe's reference to one is found."""

from __future__ import annotations

from pathlib import Path


def models_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "models"


def model_path(name: str) -> Path:
    """A recipe's model reference: a file under models/ (built by `make models`), else a path of the user's
    (preflight has already resolved and checked it, so workers get an absolute path)."""
    return models_dir() / name if (models_dir() / name).exists() else Path(name)
