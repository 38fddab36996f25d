from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="MediaSchema")


@_attrs_define
class MediaSchema:
    """An image reference: exactly one of `url` and `media_id` (the other null or absent).

    Attributes:
        media_id (None | Unset | UUID): An id from POST /v1/media. Null or absent: not set.
        url (None | str | Unset): An absolute http(s) URL, fetched at publish time. Null or absent: not set.
    """

    media_id: None | Unset | UUID = UNSET
    url: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        media_id: None | str | Unset
        if isinstance(self.media_id, Unset):
            media_id = UNSET
        elif isinstance(self.media_id, UUID):
            media_id = str(self.media_id)
        else:
            media_id = self.media_id

        url: None | str | Unset
        if isinstance(self.url, Unset):
            url = UNSET
        else:
            url = self.url

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if media_id is not UNSET:
            field_dict["media_id"] = media_id
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_media_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                media_id_type_0 = UUID(data)

                return media_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        media_id = _parse_media_id(d.pop("media_id", UNSET))

        def _parse_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        url = _parse_url(d.pop("url", UNSET))

        media_schema = cls(
            media_id=media_id,
            url=url,
        )

        return media_schema
