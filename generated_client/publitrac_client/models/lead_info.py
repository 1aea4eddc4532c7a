from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="LeadInfo")


@_attrs_define
class LeadInfo:
    """Publitrac's standard lead fields. `email` is mandatory: it is the lead's identifier today (the vendor says
    this will change). The fields below are the ones the vendor page names; its full list of standard fields
    lives on a vendor page we do not have, so further standard fields are admitted and passed through
    (assumed).

        Example:
            {'email': 'john.doe@provider.com', 'crmLeadId': 12387, 'jobTitle': 'Awesome Programmer', 'firstName': 'John',
                'lastName': 'Doe'}

        Attributes:
            email (str): The lead's email address; the identifier of the upsert (documented). **Assumed:** an address of
                RFC 6531 syntax (`format: idn-email`), so internationalised addresses such as `zoë.müller@beispiel.de`
                are valid; the vendor's page says nothing of the syntax.
                 Example: john.doe@provider.com.
            crm_lead_id (int | str | Unset): The lead's identifier in your CRM. **Assumed:** an integer or a string. The
                vendor's one example is the
                number `12387` and its page gives no type, while CRMs export ids such as `00Q5e00000ABCdE`
                (Salesforce) or `007`. A whole number is sent as a JSON integer, as in the vendor's example; any other
                id as the same text, unchanged (never `007` as `7`).
                 Example: 12387.
            job_title (str | Unset): The lead's job title. Example: Awesome Programmer.
            first_name (str | Unset): The lead's first name. Example: John.
            last_name (str | Unset): The lead's last name. Example: Doe.
    """

    email: str
    crm_lead_id: int | str | Unset = UNSET
    job_title: str | Unset = UNSET
    first_name: str | Unset = UNSET
    last_name: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        crm_lead_id: int | str | Unset
        if isinstance(self.crm_lead_id, Unset):
            crm_lead_id = UNSET
        else:
            crm_lead_id = self.crm_lead_id

        job_title = self.job_title

        first_name = self.first_name

        last_name = self.last_name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "email": email,
            }
        )
        if crm_lead_id is not UNSET:
            field_dict["crmLeadId"] = crm_lead_id
        if job_title is not UNSET:
            field_dict["jobTitle"] = job_title
        if first_name is not UNSET:
            field_dict["firstName"] = first_name
        if last_name is not UNSET:
            field_dict["lastName"] = last_name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        def _parse_crm_lead_id(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        crm_lead_id = _parse_crm_lead_id(d.pop("crmLeadId", UNSET))

        job_title = d.pop("jobTitle", UNSET)

        first_name = d.pop("firstName", UNSET)

        last_name = d.pop("lastName", UNSET)

        lead_info = cls(
            email=email,
            crm_lead_id=crm_lead_id,
            job_title=job_title,
            first_name=first_name,
            last_name=last_name,
        )

        lead_info.additional_properties = d
        return lead_info

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
