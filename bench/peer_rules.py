"""datatrove's Gopher quality, Gopher repetition, C4 and FineWeb filters, default thresholds, on a JSONL
of documents; prints one JSON line per document with each filter's keep/drop and reason.

Runs inside .bench-venv (datatrove 0.10 tokenizes English with a blank spaCy pipeline: no model download).
"""

import json
import sys

from datatrove.data import Document
from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

filters = {"gopher_quality": GopherQualityFilter(), "gopher_repetition": GopherRepetitionFilter(),
           "c4": C4QualityFilter(), "fineweb": FineWebQualityFilter()}
for line in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(line)
    out = {"id": rec["id"]}
    for name, f in filters.items():
        result = f.filter(Document(text=rec["text"], id=rec["id"]))
        keep = result if isinstance(result, bool) else result[0]
        out[name] = None if keep else (result[1] if isinstance(result, tuple) else "dropped")
    print(json.dumps(out))
