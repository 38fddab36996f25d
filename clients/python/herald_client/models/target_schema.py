from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.media_schema import MediaSchema


T = TypeVar("T", bound="TargetSchema")


@_attrs_define
class TargetSchema:
    """A target: a connection id, or this object. Each optional field, null or absent, inherits
    the post's value.

        Attributes:
            connection_id (UUID):
            first_comment (None | str | Unset): Replaces the post's first comment for this target. Null or absent: inherit
                the
                post's.
            media (list[MediaSchema] | None | Unset): Replaces the post's media for this target. Null or absent: inherit the
                post's.
            text (None | str | Unset): Replaces the post's text for this target. Null or absent: inherit the post's.
            thread (list[str] | None | Unset): Replaces the post's thread parts for this target. Null or absent: inherit the
                post's.
    """

    connection_id: UUID
    first_comment: None | str | Unset = UNSET
    media: list[MediaSchema] | None | Unset = UNSET
    text: None | str | Unset = UNSET
    thread: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        connection_id = str(self.connection_id)

        first_comment: None | str | Unset
        if isinstance(self.first_comment, Unset):
            first_comment = UNSET
        else:
            first_comment = self.first_comment

        media: list[dict[str, Any]] | None | Unset
        if isinstance(self.media, Unset):
            media = UNSET
        elif isinstance(self.media, list):
            media = []
            for media_type_0_item_data in self.media:
                media_type_0_item = media_type_0_item_data.to_dict()
                media.append(media_type_0_item)

        else:
            media = self.media

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        thread: list[str] | None | Unset
        if isinstance(self.thread, Unset):
            thread = UNSET
        elif isinstance(self.thread, list):
            thread = self.thread

        else:
            thread = self.thread

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "connection_id": connection_id,
            }
        )
        if first_comment is not UNSET:
            field_dict["first_comment"] = first_comment
        if media is not UNSET:
            field_dict["media"] = media
        if text is not UNSET:
            field_dict["text"] = text
        if thread is not UNSET:
            field_dict["thread"] = thread

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.media_schema import MediaSchema  # noqa: PLC0415

        d = dict(src_dict)
        connection_id = UUID(d.pop("connection_id"))

        def _parse_first_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        first_comment = _parse_first_comment(d.pop("first_comment", UNSET))

        def _parse_media(data: object) -> list[MediaSchema] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                media_type_0 = []
                _media_type_0 = data
                for media_type_0_item_data in _media_type_0:
                    media_type_0_item = MediaSchema.from_dict(media_type_0_item_data)

                    media_type_0.append(media_type_0_item)

                return media_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[MediaSchema] | None | Unset, data)

        media = _parse_media(d.pop("media", UNSET))

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        def _parse_thread(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                thread_type_0 = cast(list[str], data)

                return thread_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        thread = _parse_thread(d.pop("thread", UNSET))

        target_schema = cls(
            connection_id=connection_id,
            first_comment=first_comment,
            media=media,
            text=text,
            thread=thread,
        )

        return target_schema
