"""Domain exceptions. Each message says what went wrong and what to do next."""


class EnclaveError(Exception):
    """Base of every refusal the enclave explains to its user."""


class NotFound(EnclaveError):
    pass


class AlreadyExists(EnclaveError):
    pass


class InvalidInput(EnclaveError):
    pass


class InvalidState(EnclaveError):
    """The thing exists but its current state does not allow the action."""


class DatasetIntegrityError(EnclaveError):
    """A dataset's files do not match their checksum manifest."""


class SpawnRefused(EnclaveError):
    """A workspace may not start (not a member, project suspended, ...)."""


class IsolationError(EnclaveError):
    """An isolation control could not be put in place; the workspace must not start."""
