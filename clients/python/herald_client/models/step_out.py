from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.step_state import StepState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.step_out_detail_type_0 import StepOutDetailType0


T = TypeVar("T", bound="StepOut")


@_attrs_define
class StepOut:
    """
    Attributes:
        started_at (datetime.datetime):
        state (StepState): A journal row: a platform side effect about to happen (`sending`), that happened
            (`done`, with the remote id it produced), or that the platform refused (`failed`).
        step (str):
        detail (None | StepOutDetailType0 | Unset):
        finished_at (datetime.datetime | None | Unset):
        remote_id (None | str | Unset):
    """

    started_at: datetime.datetime
    state: StepState
    step: str
    detail: None | StepOutDetailType0 | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    remote_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.step_out_detail_type_0 import StepOutDetailType0  # noqa: PLC0415

        started_at = self.started_at.isoformat()

        state = self.state.value

        step = self.step

        detail: dict[str, Any] | None | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        elif isinstance(self.detail, StepOutDetailType0):
            detail = self.detail.to_dict()
        else:
            detail = self.detail

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

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "started_at": started_at,
                "state": state,
                "step": step,
            }
        )
        if detail is not UNSET:
            field_dict["detail"] = detail
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if remote_id is not UNSET:
            field_dict["remote_id"] = remote_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.step_out_detail_type_0 import StepOutDetailType0  # noqa: PLC0415

        d = dict(src_dict)
        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        state = StepState(d.pop("state"))

        step = d.pop("step")

        def _parse_detail(data: object) -> None | StepOutDetailType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                detail_type_0 = StepOutDetailType0.from_dict(data)

                return detail_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | StepOutDetailType0 | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

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

        step_out = cls(
            started_at=started_at,
            state=state,
            step=step,
            detail=detail,
            finished_at=finished_at,
            remote_id=remote_id,
        )

        step_out.additional_properties = d
        return step_out

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
