from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.delivery_state import DeliveryState
from ..models.platform import Platform
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.delivery_error_out import DeliveryErrorOut
    from ..models.event_out import EventOut
    from ..models.step_out import StepOut


T = TypeVar("T", bound="DeliveryDetail")


@_attrs_define
class DeliveryDetail:
    """A delivery with its journal and its events.

    Attributes:
        attempts (int):
        connection_id (UUID):
        created_at (datetime.datetime):
        degraded (list[str]): What was given up to get the post out (`media_dropped`, ...).
        id (UUID):
        max_attempts (int):
        platform (Platform):
        post_id (UUID):
        run_at (datetime.datetime):
        state (DeliveryState): Where one delivery (a post on one connection) stands.
        updated_at (datetime.datetime):
        events (list[EventOut]): Every state change, oldest first.
        steps (list[StepOut]): One row per platform side effect: `sending`, then `done` (with its remote id) or
            `failed`.
        error (DeliveryErrorOut | None | Unset):
        finished_at (datetime.datetime | None | Unset):
        remote_id (None | str | Unset):
        url (None | str | Unset): The published post's URL.
    """

    attempts: int
    connection_id: UUID
    created_at: datetime.datetime
    degraded: list[str]
    id: UUID
    max_attempts: int
    platform: Platform
    post_id: UUID
    run_at: datetime.datetime
    state: DeliveryState
    updated_at: datetime.datetime
    events: list[EventOut]
    steps: list[StepOut]
    error: DeliveryErrorOut | None | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    remote_id: None | str | Unset = UNSET
    url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.delivery_error_out import DeliveryErrorOut  # noqa: PLC0415

        attempts = self.attempts

        connection_id = str(self.connection_id)

        created_at = self.created_at.isoformat()

        degraded = self.degraded

        id = str(self.id)

        max_attempts = self.max_attempts

        platform = self.platform.value

        post_id = str(self.post_id)

        run_at = self.run_at.isoformat()

        state = self.state.value

        updated_at = self.updated_at.isoformat()

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, DeliveryErrorOut):
            error = self.error.to_dict()
        else:
            error = self.error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        remote_id: None | str | Unset
        if isinstance(self.remote_id, Unset):
            remote_id = UNSET
        else:
            remote_id = self.remote_id

        url: None | str | Unset
        if isinstance(self.url, Unset):
            url = UNSET
        else:
            url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "connection_id": connection_id,
                "created_at": created_at,
                "degraded": degraded,
                "id": id,
                "max_attempts": max_attempts,
                "platform": platform,
                "post_id": post_id,
                "run_at": run_at,
                "state": state,
                "updated_at": updated_at,
                "events": events,
                "steps": steps,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if remote_id is not UNSET:
            field_dict["remote_id"] = remote_id
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.delivery_error_out import DeliveryErrorOut  # noqa: PLC0415
        from ..models.event_out import EventOut  # noqa: PLC0415
        from ..models.step_out import StepOut  # noqa: PLC0415

        d = dict(src_dict)
        attempts = d.pop("attempts")

        connection_id = UUID(d.pop("connection_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        degraded = cast(list[str], d.pop("degraded"))

        id = UUID(d.pop("id"))

        max_attempts = d.pop("max_attempts")

        platform = Platform(d.pop("platform"))

        post_id = UUID(d.pop("post_id"))

        run_at = datetime.datetime.fromisoformat(d.pop("run_at"))

        state = DeliveryState(d.pop("state"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        events = []
        _events = d.pop("events")
        for events_item_data in _events:
            events_item = EventOut.from_dict(events_item_data)

            events.append(events_item)

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = StepOut.from_dict(steps_item_data)

            steps.append(steps_item)

        def _parse_error(data: object) -> DeliveryErrorOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = DeliveryErrorOut.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DeliveryErrorOut | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        def _parse_remote_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        remote_id = _parse_remote_id(d.pop("remote_id", UNSET))

        def _parse_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        url = _parse_url(d.pop("url", UNSET))

        delivery_detail = cls(
            attempts=attempts,
            connection_id=connection_id,
            created_at=created_at,
            degraded=degraded,
            id=id,
            max_attempts=max_attempts,
            platform=platform,
            post_id=post_id,
            run_at=run_at,
            state=state,
            updated_at=updated_at,
            events=events,
            steps=steps,
            error=error,
            finished_at=finished_at,
            remote_id=remote_id,
            url=url,
        )

        delivery_detail.additional_properties = d
        return delivery_detail

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
