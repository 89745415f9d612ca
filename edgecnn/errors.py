"""The error a user sees: one sentence saying what was wrong, where, and what to do."""


class UserError(Exception):
    """Bad input from the user (a recipe, a file, a flag). The CLI prints it and exits with 2."""
