from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.post_state import PostState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.delivery_out import DeliveryOut
    from ..models.post_out_metadata import PostOutMetadata


T = TypeVar("T", bound="PostOut")


@_attrs_define
class PostOut:
    """A post and its deliveries.

    Attributes:
        created_at (datetime.datetime):
        deliveries (list[DeliveryOut]):
        id (UUID):
        metadata (PostOutMetadata):
        state (PostState): Where a post stands, derived from its deliveries' states (a post stores none of its
            own): see [`PostState::of`].
        idempotency_key (None | str | Unset):
        publish_at (datetime.datetime | None | Unset):
    """

    created_at: datetime.datetime
    deliveries: list[DeliveryOut]
    id: UUID
    metadata: PostOutMetadata
    state: PostState
    idempotency_key: None | str | Unset = UNSET
    publish_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        deliveries = []
        for deliveries_item_data in self.deliveries:
            deliveries_item = deliveries_item_data.to_dict()
            deliveries.append(deliveries_item)

        id = str(self.id)

        metadata = self.metadata.to_dict()

        state = self.state.value

        idempotency_key: None | str | Unset
        if isinstance(self.idempotency_key, Unset):
            idempotency_key = UNSET
        else:
            idempotency_key = self.idempotency_key

        publish_at: None | str | Unset
        if isinstance(self.publish_at, Unset):
            publish_at = UNSET
        elif isinstance(self.publish_at, datetime.datetime):
            publish_at = self.publish_at.isoformat()
        else:
            publish_at = self.publish_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "deliveries": deliveries,
                "id": id,
                "metadata": metadata,
                "state": state,
            }
        )
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key
        if publish_at is not UNSET:
            field_dict["publish_at"] = publish_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.delivery_out import DeliveryOut  # noqa: PLC0415
        from ..models.post_out_metadata import PostOutMetadata  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        deliveries = []
        _deliveries = d.pop("deliveries")
        for deliveries_item_data in _deliveries:
            deliveries_item = DeliveryOut.from_dict(deliveries_item_data)

            deliveries.append(deliveries_item)

        id = UUID(d.pop("id"))

        metadata = PostOutMetadata.from_dict(d.pop("metadata"))

        state = PostState(d.pop("state"))

        def _parse_idempotency_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotency_key", UNSET))

        def _parse_publish_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                publish_at_type_0 = datetime.datetime.fromisoformat(data)

                return publish_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        publish_at = _parse_publish_at(d.pop("publish_at", UNSET))

        post_out = cls(
            created_at=created_at,
            deliveries=deliveries,
            id=id,
            metadata=metadata,
            state=state,
            idempotency_key=idempotency_key,
            publish_at=publish_at,
        )

        post_out.additional_properties = d
        return post_out

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
