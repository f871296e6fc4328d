"""Quality gates: thresholds that stop an import or a clean with the reason."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CHECK_GATES", "QualityGates"]


class QualityGates(BaseModel):
    """Largest share (0–1) of bad values allowed before a run stops.

    A share is bad values / non-empty values checked, per column. 1.0 disables a gate.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_invalid_dates: float = Field(0.05, ge=0, le=1, description="unparseable dates/times")
    max_invalid_numbers: float = Field(0.05, ge=0, le=1, description="unparseable numbers/money")
    max_invalid_values: float = Field(0.05, ge=0, le=1, description="unreadable booleans/JSON")
    max_invalid_emails: float = Field(0.5, ge=0, le=1, description="invalid e-mail addresses")
    max_invalid_phones: float = Field(1.0, ge=0, le=1, description="phones not valid E.164")
    max_unknown_countries: float = Field(0.5, ge=0, le=1, description="unknown country names")
    max_missing_customer_id: float = Field(
        1.0, ge=0, le=1, description="order lines without customer"
    )
    max_duplicate_rows: float = Field(1.0, ge=0, le=1, description="exact duplicate rows")


#: which gate applies to which coercion/standardization check
CHECK_GATES = {
    "date": "max_invalid_dates",
    "number": "max_invalid_numbers",
    "boolean": "max_invalid_values",
    "json": "max_invalid_values",
    "value": "max_invalid_values",
    "formula": "max_invalid_values",  # Excel formulas without a saved result (text columns)
    "email": "max_invalid_emails",
    "phone": "max_invalid_phones",
    "country": "max_unknown_countries",
    "missing_customer_id": "max_missing_customer_id",
    "duplicate_rows": "max_duplicate_rows",
}
