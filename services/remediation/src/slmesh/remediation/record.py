"""The remediation micromodel's contract: advisories and their summaries in, one record out.

The record's schema is fixed: a team files it, compares it with the next one and asks
questions of it, so every field is there in every record (null or empty when no
advisory states it), never left out or renamed.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_ADVISORIES: Final = 8
MAX_SOURCE_CHARS: Final = 500
MAX_TEXT_CHARS: Final = 20_000
# A summary is a headline's length; the summarizer writes at most 200 words.
MAX_SUMMARY_CHARS: Final = 4_000

Severity = Literal["critical", "high", "medium", "low"]


class Advisory(BaseModel):
    """One advisory page: where it is from and its text."""

    # Unknown keys are an error, not silently dropped: a misspelt "txt" would otherwise
    # make a record out of nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        min_length=1,
        max_length=MAX_SOURCE_CHARS,
        description="Where the advisory is from: a URL or a name.",
        examples=["https://nvd.nist.gov/vuln/detail/CVE-2023-44487"],
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="The advisory's text.",
        examples=["Apache HTTP Server versions 2.4.0 through 2.4.57 are affected ..."],
    )

    @field_validator("source", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class SummaryItem(BaseModel):
    """A summary as the summarizer answers it: what a pipeline's map step gives, as it is
    (a pointer into the map's items cannot pick out the bare strings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str = Field(max_length=MAX_SUMMARY_CHARS)
    words: int | None = Field(default=None, ge=0)
    truncated: bool | None = None


SummaryValue = Annotated[str, Field(max_length=MAX_SUMMARY_CHARS)] | SummaryItem


class RemediationRequest(BaseModel):
    """Advisory pages about one vulnerability, and each one's summary in the same order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    advisories: list[Advisory] = Field(
        min_length=1,
        max_length=MAX_ADVISORIES,
        description="The advisory pages, each {source, text}.",
    )
    summaries: list[SummaryValue] = Field(
        default_factory=list,
        max_length=MAX_ADVISORIES,
        description=(
            "Each advisory's summary, in the advisories' order: a string, or the "
            "summarizer's answer {summary, words, truncated}; may be shorter than the "
            "advisories when some have none."
        ),
    )

    @model_validator(mode="after")
    def _one_summary_per_advisory_at_most(self) -> RemediationRequest:
        if len(self.summaries) > len(self.advisories):
            raise ValueError(
                f"{len(self.summaries)} summaries for {len(self.advisories)} advisories: "
                "at most one summary per advisory, in the same order"
            )
        return self

    def summary_texts(self) -> list[str]:
        return [s if isinstance(s, str) else s.summary for s in self.summaries]


class RemediationRecord(BaseModel):
    """One vulnerability's remediation record, in a fixed schema."""

    model_config = ConfigDict(extra="forbid")

    cve_id: str | None = Field(
        description="The CVE id the advisories are about: the one most of them name (ties: "
        "the first named).",
        examples=["CVE-2023-44487"],
    )
    cve_ids: list[str] = Field(description="Every CVE id named, upper case, first seen first.")
    product: str | None = Field(description="The affected product or package, best effort.")
    affected_versions: list[str] = Field(
        description="Affected version ranges, normalised: '< 2.4.58', '2.4.0 - 2.4.57', "
        "'<= 1.1.1t', '>= 4.2, < 4.2.3', or a version as listed."
    )
    fixed_versions: list[str] = Field(description="Versions named as fixed.")
    severity: Severity | None = Field(
        description="critical, high, medium or low: as stated, else the CVSS score's band."
    )
    actions: list[str] = Field(
        description="What to do: upgrade to the fixed versions, and the workarounds and "
        "mitigations the advisories state; short imperative sentences."
    )
    sources: list[str] = Field(description="Every advisory's source, in order.")
    summaries: list[str] = Field(description="Each advisory's summary, in order.")
    notes: list[str] = Field(description="Where the advisories disagree.")
