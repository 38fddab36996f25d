from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_state import DeliveryState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_out_detail import EventOutDetail


T = TypeVar("T", bound="EventOut")


@_attrs_define
class EventOut:
    """A delivery's state change.

    Attributes:
        at (datetime.datetime):
        delivery_id (UUID):
        detail (EventOutDetail):
        id (int):
        to (DeliveryState): Where one delivery (a post on one connection) stands.
        type_ (str): `delivery.published`, `delivery.failed`, ...
        from_ (DeliveryState | None | Unset):
    """

    at: datetime.datetime
    delivery_id: UUID
    detail: EventOutDetail
    id: int
    to: DeliveryState
    type_: str
    from_: DeliveryState | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        delivery_id = str(self.delivery_id)

        detail = self.detail.to_dict()

        id = self.id

        to = self.to.value

        type_ = self.type_

        from_: None | str | Unset
        if isinstance(self.from_, Unset):
            from_ = UNSET
        elif isinstance(self.from_, DeliveryState):
            from_ = self.from_.value
        else:
            from_ = self.from_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "delivery_id": delivery_id,
                "detail": detail,
                "id": id,
                "to": to,
                "type": type_,
            }
        )
        if from_ is not UNSET:
            field_dict["from"] = from_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_out_detail import EventOutDetail  # noqa: PLC0415

        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        delivery_id = UUID(d.pop("delivery_id"))

        detail = EventOutDetail.from_dict(d.pop("detail"))

        id = d.pop("id")

        to = DeliveryState(d.pop("to"))

        type_ = d.pop("type")

        def _parse_from_(data: object) -> DeliveryState | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                from_type_0 = DeliveryState(data)

                return from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DeliveryState | None | Unset, data)

        from_ = _parse_from_(d.pop("from", UNSET))

        event_out = cls(
            at=at,
            delivery_id=delivery_id,
            detail=detail,
            id=id,
            to=to,
            type_=type_,
            from_=from_,
        )

        event_out.additional_properties = d
        return event_out

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
