from enum import StrEnum


class Platform(StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    TELEGRAM = "telegram"
    THREADS = "threads"
    TWITTER = "twitter"

    def __str__(self) -> str:
        return str(self.value)
