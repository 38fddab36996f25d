from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_state import DeliveryState
from ..models.platform import Platform
from ..types import UNSET, Unset

T = TypeVar("T", bound="PostCompletedDelivery")


@_attrs_define
class PostCompletedDelivery:
    """One delivery of a completed post.

    Attributes:
        connection_id (UUID):
        id (UUID):
        platform (Platform):
        state (DeliveryState): Where one delivery (a post on one connection) stands.
        error_code (None | str | Unset): Why it failed.
        url (None | str | Unset): Where the post is, once published.
    """

    connection_id: UUID
    id: UUID
    platform: Platform
    state: DeliveryState
    error_code: None | str | Unset = UNSET
    url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connection_id = str(self.connection_id)

        id = str(self.id)

        platform = self.platform.value

        state = self.state.value

        error_code: None | str | Unset
        if isinstance(self.error_code, Unset):
            error_code = UNSET
        else:
            error_code = self.error_code

        url: None | str | Unset
        if isinstance(self.url, Unset):
            url = UNSET
        else:
            url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connection_id": connection_id,
                "id": id,
                "platform": platform,
                "state": state,
            }
        )
        if error_code is not UNSET:
            field_dict["error_code"] = error_code
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        connection_id = UUID(d.pop("connection_id"))

        id = UUID(d.pop("id"))

        platform = Platform(d.pop("platform"))

        state = DeliveryState(d.pop("state"))

        def _parse_error_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_code = _parse_error_code(d.pop("error_code", UNSET))

        def _parse_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        url = _parse_url(d.pop("url", UNSET))

        post_completed_delivery = cls(
            connection_id=connection_id,
            id=id,
            platform=platform,
            state=state,
            error_code=error_code,
            url=url,
        )

        post_completed_delivery.additional_properties = d
        return post_completed_delivery

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
