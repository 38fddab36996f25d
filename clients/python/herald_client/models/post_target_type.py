from enum import StrEnum


class PostTargetType(StrEnum):
    PAGE = "page"
    PERSONAL = "personal"

    def __str__(self) -> str:
        return str(self.value)
