"""Errors a user can act on: each says what went wrong and what to do about it."""


class WorkbookError(Exception):
    """An error meant for the consultant: the message is shown as is, without a traceback."""


class ClientNotFound(WorkbookError):
    pass


class InvalidClientName(WorkbookError):
    pass
