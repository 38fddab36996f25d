from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.resolve_outcome import ResolveOutcome
from ..types import UNSET, Unset

T = TypeVar("T", bound="Resolve")


@_attrs_define
class Resolve:
    """The operator's verdict on an `unknown` delivery.

    Attributes:
        outcome (ResolveOutcome): The values [`Resolve::outcome`] accepts, for the OpenAPI description.
        remote_id (None | str | Unset): The platform's id of the post, for `published`.
        url (None | str | Unset): The post's URL on the platform, for `published`.
    """

    outcome: ResolveOutcome
    remote_id: None | str | Unset = UNSET
    url: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome.value

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

        field_dict.update(
            {
                "outcome": outcome,
            }
        )
        if remote_id is not UNSET:
            field_dict["remote_id"] = remote_id
        if url is not UNSET:
            field_dict["url"] = url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        outcome = ResolveOutcome(d.pop("outcome"))

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

        resolve = cls(
            outcome=outcome,
            remote_id=remote_id,
            url=url,
        )

        return resolve
