from enum import StrEnum


class StepState(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SENDING = "sending"

    def __str__(self) -> str:
        return str(self.value)
