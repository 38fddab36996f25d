from enum import StrEnum


class DeliveryState(StrEnum):
    CANCELLED = "cancelled"
    DEAD = "dead"
    FAILED = "failed"
    PUBLISHED = "published"
    QUEUED = "queued"
    RATE_LIMITED = "rate_limited"
    RETRYING = "retrying"
    RUNNING = "running"
    SCHEDULED = "scheduled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
