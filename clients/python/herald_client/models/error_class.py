from enum import StrEnum


class ErrorClass(StrEnum):
    PERMANENT = "permanent"
    RATE_LIMITED = "rate_limited"
    RECONNECT_REQUIRED = "reconnect_required"
    RETRYABLE = "retryable"
    UNKNOWN_OUTCOME = "unknown_outcome"

    def __str__(self) -> str:
        return str(self.value)
