"""The error a user sees: one sentence saying what was wrong, where, and what to do."""


class UserError(Exception):
    """Bad input from the user (a recipe, a file, a flag). The CLI prints it and exits with 2."""


class Interrupted(Exception):
    """Ctrl-C during a step that can say what it kept (the epochs saved, how to resume). The CLI prints the
    message and exits with 130."""


class ChildFailed(Exception):
    """A child process (the benchmark, make) failed and has already said why on its own output. The CLI exits
    with the child's status and adds nothing."""

    def __init__(self, status):
        super().__init__(f"a child process exited with status {status}")
        self.status = status
