from enum import StrEnum


class Fit(StrEnum):
    PAD = "pad"
    REJECT = "reject"

    def __str__(self) -> str:
        return str(self.value)
