"""`python -m corpus` runs the CLI where no console script is installed (a container, a GPU node)."""

import sys

from corpus.cli import main

sys.exit(main())
