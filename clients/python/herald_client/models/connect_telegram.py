from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectTelegram")


@_attrs_define
class ConnectTelegram:
    """A Telegram bot and the channel it posts to.

    Attributes:
        bot_token (str): From @BotFather. Stored sealed; never shown again.
        chat_id (int | str): a Telegram chat id: the numeric id (-1001234567890, as a number or a string) or
            "@channelname"
        user (None | str | Unset): The producer's end user this connection belongs to. Null or absent: none.
    """

    bot_token: str
    chat_id: int | str
    user: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        bot_token = self.bot_token

        chat_id: int | str
        chat_id = self.chat_id

        user: None | str | Unset
        if isinstance(self.user, Unset):
            user = UNSET
        else:
            user = self.user

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "bot_token": bot_token,
                "chat_id": chat_id,
            }
        )
        if user is not UNSET:
            field_dict["user"] = user

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bot_token = d.pop("bot_token")

        def _parse_chat_id(data: object) -> int | str:
            return cast(int | str, data)

        chat_id = _parse_chat_id(d.pop("chat_id"))

        def _parse_user(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user = _parse_user(d.pop("user", UNSET))

        connect_telegram = cls(
            bot_token=bot_token,
            chat_id=chat_id,
            user=user,
        )

        return connect_telegram
