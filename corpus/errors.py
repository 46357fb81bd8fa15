"""The one base class of errors a user can cause and fix (bad recipe, input, output folder): the CLI prints
them as one line and exits 2. Anything else is a bug and keeps its traceback."""


class UserError(Exception):
    pass


class Transient(Exception):
    """An error that depends on the machine, not on the record (a CPU or time budget ran out under load): the row is
    quarantined, counted in the stage's ``transient``, and the shard is redone by the next run instead of resumed."""
