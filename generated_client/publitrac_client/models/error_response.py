from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorResponse")


@_attrs_define
class ErrorResponse:
    """**Assumed.** The body of an error answered by the server itself: the `status` and `code` that the vendor's
    success body has (a server that follows the page answers `{"status": "error", "code": 401}`), and perhaps a
    `message`. Errors answered by a proxy in front of it (a 502 or 503 page, say) may have any body, HTML
    included.

        Attributes:
            status (str): The status message (`error`; the vendor refers to a table of messages it does not include).
                Example: error.
            code (int): The status code, usually the HTTP status repeated. Example: 401.
            message (str | Unset): A human-readable reason, when the server gives one. Never holds the API key or a token.
                Example: Token missing, unknown or expired..
    """

    status: str
    code: int
    message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status

        code = self.code

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "code": code,
            }
        )
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = d.pop("status")

        code = d.pop("code")

        message = d.pop("message", UNSET)

        error_response = cls(
            status=status,
            code=code,
            message=message,
        )

        error_response.additional_properties = d
        return error_response

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
