from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="MediaFromUrl")


@_attrs_define
class MediaFromUrl:
    """The JSON form of `POST /v1/media`: Herald fetches the file from `url` once.

    Attributes:
        url (str): A public https URL of an image or a video (plain http and inward addresses only to
            hosts listed in `outbound.allow`).
    """

    url: str

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url")

        media_from_url = cls(
            url=url,
        )

        return media_from_url
