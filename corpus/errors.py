"""The one base class of errors a user can cause and fix (bad recipe, input, output folder): the CLI prints
them as one line and exits 2. Anything else is a bug and keeps its traceback."""


class UserError(Exception):
    pass
