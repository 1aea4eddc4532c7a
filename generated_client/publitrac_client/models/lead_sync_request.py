from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.lead_custom_field import LeadCustomField
    from ..models.lead_info import LeadInfo


T = TypeVar("T", bound="LeadSyncRequest")


@_attrs_define
class LeadSyncRequest:
    """One lead to create or update.

    Example:
        {'leadInfo': {'email': 'john.doe@provider.com', 'firstName': 'John'}, 'leadCustomField': {'customField1':
            'Value'}}

    Attributes:
        lead_info (LeadInfo): Publitrac's standard lead fields. `email` is mandatory: it is the lead's identifier today
            (the vendor says
            this will change). The fields below are the ones the vendor page names; its full list of standard fields
            lives on a vendor page we do not have, so further standard fields are admitted and passed through
            (assumed).
             Example: {'email': 'john.doe@provider.com', 'crmLeadId': 12387, 'jobTitle': 'Awesome Programmer', 'firstName':
            'John', 'lastName': 'Doe'}.
        lead_custom_field (LeadCustomField | Unset): Custom fields to add or update on the lead: a map of field name to
            value. The vendor's examples are
            strings; numbers and booleans are admitted too (assumed).
             Example: {'customField1': 'Value', 'customField2': 'Value2'}.
    """

    lead_info: LeadInfo
    lead_custom_field: LeadCustomField | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        lead_info = self.lead_info.to_dict()

        lead_custom_field: dict[str, Any] | Unset = UNSET
        if not isinstance(self.lead_custom_field, Unset):
            lead_custom_field = self.lead_custom_field.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "leadInfo": lead_info,
            }
        )
        if lead_custom_field is not UNSET:
            field_dict["leadCustomField"] = lead_custom_field

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lead_custom_field import LeadCustomField  # noqa: PLC0415
        from ..models.lead_info import LeadInfo  # noqa: PLC0415

        d = dict(src_dict)
        lead_info = LeadInfo.from_dict(d.pop("leadInfo"))

        _lead_custom_field = d.pop("leadCustomField", UNSET)
        lead_custom_field: LeadCustomField | Unset
        if isinstance(_lead_custom_field, Unset):
            lead_custom_field = UNSET
        else:
            lead_custom_field = LeadCustomField.from_dict(_lead_custom_field)

        lead_sync_request = cls(
            lead_info=lead_info,
            lead_custom_field=lead_custom_field,
        )

        lead_sync_request.additional_properties = d
        return lead_sync_request

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
