"""Training mixtures: token-share targets per group of curated documents, sampled, shuffled, ready for `corpus pack --mix`."""
