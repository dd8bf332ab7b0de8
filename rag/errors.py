"""Errors a user can act on. Each message says what is wrong and what to do."""


class RagError(Exception):
    """Base class: the CLI prints the message as one line and exits 1."""


class IndexNotFound(RagError):
    pass


class IndexIncompatible(RagError):
    pass


class IndexCorrupt(RagError):
    pass


class ModelError(RagError):
    pass


class BadQuestion(RagError, ValueError):
    pass
