from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_state import DeliveryState
from ..models.platform import Platform
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.delivery_event_data_detail import DeliveryEventDataDetail


T = TypeVar("T", bound="DeliveryEventData")


@_attrs_define
class DeliveryEventData:
    """What changed: which delivery (of which post, on which connection), from and to which
    state, and the transition's details (the error, the published URL, ...).

        Attributes:
            connection_id (UUID):
            delivery_id (UUID):
            detail (DeliveryEventDataDetail):
            platform (Platform):
            post_id (UUID):
            to (DeliveryState): Where one delivery (a post on one connection) stands.
            from_ (DeliveryState | None | Unset):
    """

    connection_id: UUID
    delivery_id: UUID
    detail: DeliveryEventDataDetail
    platform: Platform
    post_id: UUID
    to: DeliveryState
    from_: DeliveryState | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connection_id = str(self.connection_id)

        delivery_id = str(self.delivery_id)

        detail = self.detail.to_dict()

        platform = self.platform.value

        post_id = str(self.post_id)

        to = self.to.value

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
                "connection_id": connection_id,
                "delivery_id": delivery_id,
                "detail": detail,
                "platform": platform,
                "post_id": post_id,
                "to": to,
            }
        )
        if from_ is not UNSET:
            field_dict["from"] = from_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.delivery_event_data_detail import DeliveryEventDataDetail  # noqa: PLC0415

        d = dict(src_dict)
        connection_id = UUID(d.pop("connection_id"))

        delivery_id = UUID(d.pop("delivery_id"))

        detail = DeliveryEventDataDetail.from_dict(d.pop("detail"))

        platform = Platform(d.pop("platform"))

        post_id = UUID(d.pop("post_id"))

        to = DeliveryState(d.pop("to"))

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

        delivery_event_data = cls(
            connection_id=connection_id,
            delivery_id=delivery_id,
            detail=detail,
            platform=platform,
            post_id=post_id,
            to=to,
            from_=from_,
        )

        delivery_event_data.additional_properties = d
        return delivery_event_data

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
