"""Human review of a run: a local labelling page (`corpus review DIR`), a labels store, and the numbers the labels
give (drop precision per stage, reason and language, the false-keep rate, good documents lost, what-if curves).

WanJuan 1.0 raised purity "by combining algorithms with human evaluation"; the rules and classifiers are the
algorithm, this package is the evaluation loop: a curator reads a stratified sample of what each rule dropped and
kept, says good or bad, and the labels measure every filter (and train or evaluate the classifiers).
"""

LABELS = ("good", "bad", "skip")
TAGS = ("ad", "broken", "boilerplate", "toxic", "porn", "machine-translated", "wrong language", "other")
