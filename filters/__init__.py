"""Stage implementations. Each module registers its steps with ``corpus.registry.register``."""
