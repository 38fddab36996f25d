from enum import StrEnum


class PostState(StrEnum):
    CANCELLED = "cancelled"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    PARTIALLY_PUBLISHED = "partially_published"
    PUBLISHED = "published"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
