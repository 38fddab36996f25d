from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectRequest")


@_attrs_define
class ConnectRequest:
    """What to connect.

    Attributes:
        return_to (None | str | Unset): Where to send the browser when done: an absolute http(s) URL on one of
            `api.allowed_return_origins` (by default the origin of Herald's public URL); without
            it the callback shows a plain result page.
        target (None | str | Unset): LinkedIn only: `personal` (default) or `company`.
        user (None | str | Unset): The producer's end user the connection belongs to.
    """

    return_to: None | str | Unset = UNSET
    target: None | str | Unset = UNSET
    user: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        return_to: None | str | Unset
        if isinstance(self.return_to, Unset):
            return_to = UNSET
        else:
            return_to = self.return_to

        target: None | str | Unset
        if isinstance(self.target, Unset):
            target = UNSET
        else:
            target = self.target

        user: None | str | Unset
        if isinstance(self.user, Unset):
            user = UNSET
        else:
            user = self.user

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if return_to is not UNSET:
            field_dict["return_to"] = return_to
        if target is not UNSET:
            field_dict["target"] = target
        if user is not UNSET:
            field_dict["user"] = user

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_return_to(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        return_to = _parse_return_to(d.pop("return_to", UNSET))

        def _parse_target(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target = _parse_target(d.pop("target", UNSET))

        def _parse_user(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user = _parse_user(d.pop("user", UNSET))

        connect_request = cls(
            return_to=return_to,
            target=target,
            user=user,
        )

        return connect_request
