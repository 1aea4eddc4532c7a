from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TokenResponse")


@_attrs_define
class TokenResponse:
    """A token and its sliding time to live (documented).

    Attributes:
        token (str): Opaque token for the `Token` header of further calls. May hold characters such as `!`.
            **Assumed:** never empty (`minLength`).
             Example: djs4fdn4dJTer489!.
        ttl (str): Time to live in seconds, as a string ("900" by default; documented). It slides: the token expires
            `ttl` seconds after the last call made with it. **Assumed:** only digits (`pattern`), as in the
            vendor's example.
             Example: 900.
    """

    token: str
    ttl: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        token = self.token

        ttl = self.ttl

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "token": token,
                "ttl": ttl,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        token = d.pop("token")

        ttl = d.pop("ttl")

        token_response = cls(
            token=token,
            ttl=ttl,
        )

        token_response.additional_properties = d
        return token_response

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
