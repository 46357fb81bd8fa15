"""Tokenize-and-pack: curated Parquet → fixed-length token sequences in Megatron and InternEvo formats."""
