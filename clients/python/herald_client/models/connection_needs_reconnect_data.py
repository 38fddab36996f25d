from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.platform import Platform
from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectionNeedsReconnectData")


@_attrs_define
class ConnectionNeedsReconnectData:
    """`data` of `connection.needs_reconnect`: the platform refused the connection's token for
    good; posts to it fail until the account owner connects it again.

        Attributes:
            connection_id (UUID):
            platform (Platform):
            reason (str): What the platform said.
            account_handle (None | str | Unset):
    """

    connection_id: UUID
    platform: Platform
    reason: str
    account_handle: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connection_id = str(self.connection_id)

        platform = self.platform.value

        reason = self.reason

        account_handle: None | str | Unset
        if isinstance(self.account_handle, Unset):
            account_handle = UNSET
        else:
            account_handle = self.account_handle

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connection_id": connection_id,
                "platform": platform,
                "reason": reason,
            }
        )
        if account_handle is not UNSET:
            field_dict["account_handle"] = account_handle

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        connection_id = UUID(d.pop("connection_id"))

        platform = Platform(d.pop("platform"))

        reason = d.pop("reason")

        def _parse_account_handle(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account_handle = _parse_account_handle(d.pop("account_handle", UNSET))

        connection_needs_reconnect_data = cls(
            connection_id=connection_id,
            platform=platform,
            reason=reason,
            account_handle=account_handle,
        )

        connection_needs_reconnect_data.additional_properties = d
        return connection_needs_reconnect_data

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
