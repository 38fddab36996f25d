from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.not_cancelled import NotCancelled
    from ..models.post_out import PostOut


T = TypeVar("T", bound="CancelOut")


@_attrs_define
class CancelOut:
    """What cancelling did.

    Attributes:
        cancelled (list[UUID]): Deliveries now cancelled.
        not_cancelled (list[NotCancelled]): Deliveries that had already started or finished, with their state.
        post (PostOut): A post and its deliveries.
    """

    cancelled: list[UUID]
    not_cancelled: list[NotCancelled]
    post: PostOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cancelled = []
        for cancelled_item_data in self.cancelled:
            cancelled_item = str(cancelled_item_data)
            cancelled.append(cancelled_item)

        not_cancelled = []
        for not_cancelled_item_data in self.not_cancelled:
            not_cancelled_item = not_cancelled_item_data.to_dict()
            not_cancelled.append(not_cancelled_item)

        post = self.post.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cancelled": cancelled,
                "not_cancelled": not_cancelled,
                "post": post,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.not_cancelled import NotCancelled  # noqa: PLC0415
        from ..models.post_out import PostOut  # noqa: PLC0415

        d = dict(src_dict)
        cancelled = []
        _cancelled = d.pop("cancelled")
        for cancelled_item_data in _cancelled:
            cancelled_item = UUID(cancelled_item_data)

            cancelled.append(cancelled_item)

        not_cancelled = []
        _not_cancelled = d.pop("not_cancelled")
        for not_cancelled_item_data in _not_cancelled:
            not_cancelled_item = NotCancelled.from_dict(not_cancelled_item_data)

            not_cancelled.append(not_cancelled_item)

        post = PostOut.from_dict(d.pop("post"))

        cancel_out = cls(
            cancelled=cancelled,
            not_cancelled=not_cancelled,
            post=post,
        )

        cancel_out.additional_properties = d
        return cancel_out

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
