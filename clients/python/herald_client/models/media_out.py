from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MediaOut")


@_attrs_define
class MediaOut:
    """An uploaded file.

    Attributes:
        bytes_ (int):
        content_type (str):
        created_at (datetime.datetime):
        height (int):
        id (UUID): Use as `{"media_id": ...}` in a post.
        sha256 (str):
        url (str): A signed URL that serves the file until `url_expires_at`.
        url_expires_at (datetime.datetime):
        width (int):
        filename (None | str | Unset):
    """

    bytes_: int
    content_type: str
    created_at: datetime.datetime
    height: int
    id: UUID
    sha256: str
    url: str
    url_expires_at: datetime.datetime
    width: int
    filename: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_ = self.bytes_

        content_type = self.content_type

        created_at = self.created_at.isoformat()

        height = self.height

        id = str(self.id)

        sha256 = self.sha256

        url = self.url

        url_expires_at = self.url_expires_at.isoformat()

        width = self.width

        filename: None | str | Unset
        if isinstance(self.filename, Unset):
            filename = UNSET
        else:
            filename = self.filename

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "content_type": content_type,
                "created_at": created_at,
                "height": height,
                "id": id,
                "sha256": sha256,
                "url": url,
                "url_expires_at": url_expires_at,
                "width": width,
            }
        )
        if filename is not UNSET:
            field_dict["filename"] = filename

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bytes_ = d.pop("bytes")

        content_type = d.pop("content_type")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        height = d.pop("height")

        id = UUID(d.pop("id"))

        sha256 = d.pop("sha256")

        url = d.pop("url")

        url_expires_at = datetime.datetime.fromisoformat(d.pop("url_expires_at"))

        width = d.pop("width")

        def _parse_filename(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        filename = _parse_filename(d.pop("filename", UNSET))

        media_out = cls(
            bytes_=bytes_,
            content_type=content_type,
            created_at=created_at,
            height=height,
            id=id,
            sha256=sha256,
            url=url,
            url_expires_at=url_expires_at,
            width=width,
            filename=filename,
        )

        media_out.additional_properties = d
        return media_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
