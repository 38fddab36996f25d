from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.platform import Platform
from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectionExpiringData")


@_attrs_define
class ConnectionExpiringData:
    """`data` of `connection.expiring`: the connection's token expires at `expires_at` and Herald
    cannot refresh it (`api.webhooks.expiring_notice_days` before). Sent once per expiry.

        Attributes:
            connection_id (UUID):
            expires_at (datetime.datetime):
            platform (Platform):
            account_handle (None | str | Unset):
    """

    connection_id: UUID
    expires_at: datetime.datetime
    platform: Platform
    account_handle: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connection_id = str(self.connection_id)

        expires_at = self.expires_at.isoformat()

        platform = self.platform.value

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
                "expires_at": expires_at,
                "platform": platform,
            }
        )
        if account_handle is not UNSET:
            field_dict["account_handle"] = account_handle

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        connection_id = UUID(d.pop("connection_id"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        platform = Platform(d.pop("platform"))

        def _parse_account_handle(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account_handle = _parse_account_handle(d.pop("account_handle", UNSET))

        connection_expiring_data = cls(
            connection_id=connection_id,
            expires_at=expires_at,
            platform=platform,
            account_handle=account_handle,
        )

        connection_expiring_data.additional_properties = d
        return connection_expiring_data

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
