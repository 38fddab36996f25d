from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="SelectPage")


@_attrs_define
class SelectPage:
    """The page to post to.

    Attributes:
        page_id (str):
    """

    page_id: str

    def to_dict(self) -> dict[str, Any]:
        page_id = self.page_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "page_id": page_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        page_id = d.pop("page_id")

        select_page = cls(
            page_id=page_id,
        )

        return select_page
