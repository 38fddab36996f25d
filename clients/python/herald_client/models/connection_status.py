from enum import StrEnum


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    NEEDS_RECONNECT = "needs_reconnect"

    def __str__(self) -> str:
        return str(self.value)
