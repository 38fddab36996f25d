from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.error_class import ErrorClass
from ..types import UNSET, Unset

T = TypeVar("T", bound="DeliveryErrorOut")


@_attrs_define
class DeliveryErrorOut:
    """A delivery's last error: its class, the platform's code and message, and what to do.

    Attributes:
        class_ (ErrorClass): What kind of failure it was, which decides what Herald does next.
        message (str):
        code (None | str | Unset): The platform's own code when it gave one, else the HTTP status it answered with, else
            Herald's own code (`timeout`, `media_fetch`, ...).
        hint (None | str | Unset):
    """

    class_: ErrorClass
    message: str
    code: None | str | Unset = UNSET
    hint: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        class_ = self.class_.value

        message = self.message

        code: None | str | Unset
        if isinstance(self.code, Unset):
            code = UNSET
        else:
            code = self.code

        hint: None | str | Unset
        if isinstance(self.hint, Unset):
            hint = UNSET
        else:
            hint = self.hint

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "class": class_,
                "message": message,
            }
        )
        if code is not UNSET:
            field_dict["code"] = code
        if hint is not UNSET:
            field_dict["hint"] = hint

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        class_ = ErrorClass(d.pop("class"))

        message = d.pop("message")

        def _parse_code(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        code = _parse_code(d.pop("code", UNSET))

        def _parse_hint(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hint = _parse_hint(d.pop("hint", UNSET))

        delivery_error_out = cls(
            class_=class_,
            message=message,
            code=code,
            hint=hint,
        )

        delivery_error_out.additional_properties = d
        return delivery_error_out

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
