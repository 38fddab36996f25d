from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MediaOut")


@_attrs_define
class MediaOut:
    """An uploaded file.

    Attributes:
        bytes_ (int):
        content_type (str):
        created_at (datetime.datetime):
        height (int):
        id (UUID): Use as `{"media_id": ...}` in a post.
        kind (str): `image` or `video`.
        sha256 (str):
        url (str): A signed URL that serves the file until `url_expires_at`.
        url_expires_at (datetime.datetime):
        width (int): Pixels (a video's: its video track's display size).
        audio_codec (None | str | Unset): A video's audio codec (`mp4a` for AAC); absent for a silent video or an image.
        duration_ms (int | None | Unset): A video's duration in milliseconds.
        filename (None | str | Unset):
        frame_rate (float | None | Unset): A video's frames per second.
        video_codec (None | str | Unset): A video's codec, as its sample entry names it: `avc1` (H.264), `hvc1` (HEVC),
            ...
    """

    bytes_: int
    content_type: str
    created_at: datetime.datetime
    height: int
    id: UUID
    kind: str
    sha256: str
    url: str
    url_expires_at: datetime.datetime
    width: int
    audio_codec: None | str | Unset = UNSET
    duration_ms: int | None | Unset = UNSET
    filename: None | str | Unset = UNSET
    frame_rate: float | None | Unset = UNSET
    video_codec: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_ = self.bytes_

        content_type = self.content_type

        created_at = self.created_at.isoformat()

        height = self.height

        id = str(self.id)

        kind = self.kind

        sha256 = self.sha256

        url = self.url

        url_expires_at = self.url_expires_at.isoformat()

        width = self.width

        audio_codec: None | str | Unset
        if isinstance(self.audio_codec, Unset):
            audio_codec = UNSET
        else:
            audio_codec = self.audio_codec

        duration_ms: int | None | Unset
        if isinstance(self.duration_ms, Unset):
            duration_ms = UNSET
        else:
            duration_ms = self.duration_ms

        filename: None | str | Unset
        if isinstance(self.filename, Unset):
            filename = UNSET
        else:
            filename = self.filename

        frame_rate: float | None | Unset
        if isinstance(self.frame_rate, Unset):
            frame_rate = UNSET
        else:
            frame_rate = self.frame_rate

        video_codec: None | str | Unset
        if isinstance(self.video_codec, Unset):
            video_codec = UNSET
        else:
            video_codec = self.video_codec

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "content_type": content_type,
                "created_at": created_at,
                "height": height,
                "id": id,
                "kind": kind,
                "sha256": sha256,
                "url": url,
                "url_expires_at": url_expires_at,
                "width": width,
            }
        )
        if audio_codec is not UNSET:
            field_dict["audio_codec"] = audio_codec
        if duration_ms is not UNSET:
            field_dict["duration_ms"] = duration_ms
        if filename is not UNSET:
            field_dict["filename"] = filename
        if frame_rate is not UNSET:
            field_dict["frame_rate"] = frame_rate
        if video_codec is not UNSET:
            field_dict["video_codec"] = video_codec

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bytes_ = d.pop("bytes")

        content_type = d.pop("content_type")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        height = d.pop("height")

        id = UUID(d.pop("id"))

        kind = d.pop("kind")

        sha256 = d.pop("sha256")

        url = d.pop("url")

        url_expires_at = datetime.datetime.fromisoformat(d.pop("url_expires_at"))

        width = d.pop("width")

        def _parse_audio_codec(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        audio_codec = _parse_audio_codec(d.pop("audio_codec", UNSET))

        def _parse_duration_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        duration_ms = _parse_duration_ms(d.pop("duration_ms", UNSET))

        def _parse_filename(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        filename = _parse_filename(d.pop("filename", UNSET))

        def _parse_frame_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        frame_rate = _parse_frame_rate(d.pop("frame_rate", UNSET))

        def _parse_video_codec(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        video_codec = _parse_video_codec(d.pop("video_codec", UNSET))

        media_out = cls(
            bytes_=bytes_,
            content_type=content_type,
            created_at=created_at,
            height=height,
            id=id,
            kind=kind,
            sha256=sha256,
            url=url,
            url_expires_at=url_expires_at,
            width=width,
            audio_codec=audio_codec,
            duration_ms=duration_ms,
            filename=filename,
            frame_rate=frame_rate,
            video_codec=video_codec,
        )

        media_out.additional_properties = d
        return media_out

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
