from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.connection_expiring_data import ConnectionExpiringData


T = TypeVar("T", bound="ConnectionExpiringEvent")


@_attrs_define
class ConnectionExpiringEvent:
    """The body of `connection.expiring`.

    Attributes:
        at (datetime.datetime): The same as `timestamp`.
        data (ConnectionExpiringData): `data` of `connection.expiring`: the connection's token expires at `expires_at`
            and Herald
            cannot refresh it (`api.webhooks.expiring_notice_days` before). Sent once per expiry.
        id (int): The event's id: increasing, the same on every retry of this event (the
            `webhook-id` header is `msg_` and this id: drop duplicates by it). 0 for
            `webhook.test`.
        timestamp (datetime.datetime): When it happened.
        type_ (str):  Example: connection.expiring.
    """

    at: datetime.datetime
    data: ConnectionExpiringData
    id: int
    timestamp: datetime.datetime
    type_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        data = self.data.to_dict()

        id = self.id

        timestamp = self.timestamp.isoformat()

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "data": data,
                "id": id,
                "timestamp": timestamp,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.connection_expiring_data import ConnectionExpiringData  # noqa: PLC0415

        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        data = ConnectionExpiringData.from_dict(d.pop("data"))

        id = d.pop("id")

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        type_ = d.pop("type")

        connection_expiring_event = cls(
            at=at,
            data=data,
            id=id,
            timestamp=timestamp,
            type_=type_,
        )

        connection_expiring_event.additional_properties = d
        return connection_expiring_event

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
