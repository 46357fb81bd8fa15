"""WanJuan-style corpus builder: raw crawls in, curated Parquet, reports and packed shards out."""

__version__ = "0.1.0"
