from enum import StrEnum


class ResolveOutcome(StrEnum):
    PUBLISHED = "published"
    RETRY = "retry"

    def __str__(self) -> str:
        return str(self.value)
