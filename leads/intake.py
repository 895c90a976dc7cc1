"""What the intake pipeline takes and gives: an IntakeRequest per lead (with where it came from,
its Origin), an IntakeResult per lead. Plain dataclasses: the wire modules build them, the
pipeline (leads.services) reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from leads.errors import IntakeError
from leads.matching import Operation


class UpdateBehavior(StrEnum):
    UPDATE_ALL = ""
    DO_NOT_UPDATE = "DoNotUpdate"
    UPDATE_ONLY_EMPTY = "UpdateOnlyEmptyFields"
    DO_NOT_UPDATE_UNIQUE = "DoNotUpdateUniqueFields"


@dataclass(frozen=True)
class Origin:
    """Where a lead came from: the family and endpoint, the data as received, the query string,
    the API user and the client address. Logged with every rejection."""

    family: str
    endpoint: str
    data: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    api_user: Any = None
    remote_addr: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The keyword arguments of the log's failure_new / failure_record."""
        return {
            "family": self.family,
            "endpoint": self.endpoint,
            "data": self.data,
            "query": self.query,
            "api_user": self.api_user,
            "remote_addr": self.remote_addr,
        }


@dataclass
class IntakeRequest:
    """One lead as an API family parsed it, in the model's terms."""

    family: str
    endpoint: str
    operation: Operation
    fields: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    custom_field_sets: dict[str, Any] = field(default_factory=dict)
    prospect_id: str = ""
    lead_id: str = ""
    search_by: str = ""  # a model field name or an mx_ custom field
    update_behavior: UpdateBehavior = UpdateBehavior.UPDATE_ALL
    related_company_id: str = ""
    dialer: Any = None  # the dialer stage's options (Convoso insert and update)
    require_contact_name: bool = False  # on top of the global switch (the aNinja form)
    require_unique_field: bool = False  # bulk rows and CreateOrUpdate
    # Where it came from, for the log and the activity.
    data: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    api_user: Any = None
    remote_addr: str | None = None
    # A problem the view found while parsing: recorded like any other rejection.
    error: IntakeError | None = None
    retry_of: Any = None  # the FailedInjection row a replay retries

    @property
    def origin(self) -> Origin:
        return Origin(
            family=self.family,
            endpoint=self.endpoint,
            data=self.data,
            query=self.query,
            api_user=self.api_user,
            remote_addr=self.remote_addr,
        )


@dataclass
class IntakeResult:
    lead: Any = None
    created: bool = False
    updated: bool = False
    affected_rows: int = 0
    activity: Any = None
    error: IntakeError | None = None
    failure: Any = None  # its FailedInjection row
    hopper_entry: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None
