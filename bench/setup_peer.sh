#!/usr/bin/env bash
# The peer tool lives in its own venv so its pins (trafilatura<1.12, fasttext-numpy2-wheel) never touch ours.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .bench-venv/.installed ]; then
  python3 -m venv .bench-venv
  .bench-venv/bin/python -m pip install -q --upgrade pip
  .bench-venv/bin/python -m pip install -q "datatrove[processing]==0.10.1" warcio faust-cchardet python-magic orjson zstandard pyarrow lxml_html_clean spacy
  touch .bench-venv/.installed
fi
