"""The remediation micromodel: its declaration, what it reads from advisories written in
each site's manner, the record's notes where they disagree, the inputs it refuses, and
the cve-remediation pipeline that feeds it summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from slmesh.orchestrator.pipelines import advance, shape, step_results
from slmesh.orchestrator.pipelines.tool import pipeline_view
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.remediation.combine import describe, remediate
from slmesh.remediation.micromodel import build
from slmesh.remediation.record import RemediationRecord, RemediationRequest
from slmesh.remediation.routing import ROUTING
from slmesh.remediation.versions import VersionRange, key, split_range, upstream
from slmesh.runtime.pipeline_files import load_pipeline
from slmesh.runtime.registry.admission import MAX_DESCRIPTION_CHARS, MAX_SCHEMA_BYTES
from slmesh.schemas import CallOutcome

PIPELINE = Path(__file__).parents[3] / "pipelines" / "cve-remediation.yaml"

NVD = """CVE-2023-25690 Detail
Description
Some mod_proxy configurations on Apache HTTP Server versions 2.4.0 through 2.4.55 allow a
HTTP Request Smuggling attack. Configurations are affected when mod_proxy is enabled
along with some form of RewriteRule or ProxyPassMatch.
CVSS 3.x Severity and Metrics:
Base Score: 9.8 CRITICAL
Vector: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
"""
VENDOR = """Apache HTTP Server 2.4 vulnerabilities
important: HTTP request splitting with mod_rewrite and mod_proxy (CVE-2023-25690)
Fixed in Apache HTTP Server 2.4.56.
Users are recommended to upgrade to version 2.4.56, which fixes the issue.
As a workaround, disable mod_proxy if it is not needed.
Affects: 2.4.0 through 2.4.55
"""
GITHUB = """requests Session object does not verify requests after making first request
Moderate severity GitHub Reviewed Published May 22, 2023

Package
requests (pip)

Affected versions
>= 2.3.0, < 2.31.0

Patched versions
2.31.0

Description
### Impact
Since Requests 2.3.0, Requests has been leaking Proxy-Authorization headers to
destination servers when redirected to an HTTPS endpoint.

### Workarounds
Users who cannot upgrade can disable proxy authentication on redirects.

CVE ID
CVE-2023-32681
"""
DEBIAN = """CVE-2023-0286
Description: There is a type confusion vulnerability relating to X.400 address
processing inside an X.509 GeneralName.

Source Package Release Version Status
openssl (PTS) bullseye 1.1.1n-0+deb11u3 vulnerable
bullseye (security) 1.1.1n-0+deb11u4 fixed
bookworm 3.0.8-1 fixed
"""
OPENSSL = """OpenSSL Security Advisory [7th February 2023]
X.400 address type confusion in X.509 GeneralName (CVE-2023-0286)
Severity: High

OpenSSL versions 3.0.0 to 3.0.7 and 1.1.1 before 1.1.1t are vulnerable to this issue.
OpenSSL 3.0 users should upgrade to OpenSSL 3.0.8.
OpenSSL 1.1.1 users should upgrade to OpenSSL 1.1.1t.
"""


def record(*texts: str, summaries: list[Any] | None = None) -> RemediationRecord:
    advisories = [{"source": f"https://site{i}.example/advisory", "text": t}
                  for i, t in enumerate(texts)]  # fmt: skip
    return remediate(
        RemediationRequest.model_validate({"advisories": advisories, "summaries": summaries or []})
    )


# --- declaration ------------------------------------------------------------------------


def test_declaration() -> None:
    micromodel = build()
    assert micromodel.name == "remediation"
    assert not micromodel.uses_model
    assert len(micromodel.description) <= MAX_DESCRIPTION_CHARS
    assert micromodel.routing is ROUTING
    assert micromodel.summarize is describe
    # Its arguments are a pipeline's to give: no words of a request route here.
    assert ROUTING.keywords == []
    assert ROUTING.examples == []


def test_the_schemas_are_admitted() -> None:
    micromodel = build()
    for schema in (micromodel.input_schema(), micromodel.output_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert len(str(schema).encode()) < MAX_SCHEMA_BYTES


# --- CVE ids ----------------------------------------------------------------------------


def test_ids_are_upper_cased_unique_and_in_first_seen_order() -> None:
    found = record("See cve-2024-1234 and CVE-2023-9999.", "CVE-2024-1234 again, CVE 2024 1234")
    assert found.cve_ids == ["CVE-2024-1234", "CVE-2023-9999"]
    assert found.cve_id == "CVE-2024-1234"


def test_the_id_most_advisories_name_wins_and_a_tie_goes_to_the_first() -> None:
    assert record("CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0002").cve_id == "CVE-2024-0002"
    assert record("CVE-2024-0001 CVE-2024-0002").cve_id == "CVE-2024-0001"
    assert record("No identifier yet.").cve_id is None


# --- versions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "affected"),
    [
        ("Django 4.2 before 4.2.3 allows a ReDoS.", [">= 4.2, < 4.2.3"]),
        ("Apache HTTP Server versions 2.4.0 through 2.4.57 are affected.", ["2.4.0 - 2.4.57"]),
        ("Use-after-free in libfoo before 1.2.3 allows crashes.", ["< 1.2.3"]),
        ("All versions prior to v0.9.1 are vulnerable.", ["< 0.9.1"]),
        ("OpenSSL 1.1.1t and earlier are vulnerable.", ["<= 1.1.1t"]),
        ("Affected versions: >= 2.0.0, < 2.31.0", [">= 2.0.0, < 2.31.0"]),
        ("Affected versions\n<= 3.4.1\n", ["<= 3.4.1"]),
        ("Log4j2 2.0-beta9 through 2.15.0 is affected.", ["2.0-beta9 - 2.15.0"]),
        ("Vulnerable: 1.4.0-1.4.7", ["1.4.0 - 1.4.7"]),
        ("Versions between 5.0.0 and 5.0.4 are affected.", ["5.0.0 - 5.0.4"]),
        ("The 2.4.x branch before 2.4.58 is affected.", [">= 2.4.0, < 2.4.58"]),
        ("Affected versions: 3.1.0, 3.1.1", ["3.1.0", "3.1.1"]),
    ],
)
def test_affected_ranges_are_normalised(text: str, affected: list[str]) -> None:
    assert record(text).affected_versions == affected


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("This is fixed in 2.4.58.", ["2.4.58"]),
        ("Fixed in versions 4.2.3, 4.1.10 and 3.2.20.", ["4.2.3", "4.1.10", "3.2.20"]),
        ("Users should upgrade to OpenSSL 3.0.8 or later.", ["3.0.8"]),
        ("The issue has been patched in version 1.1.1t.", ["1.1.1t"]),
        ("Patched versions\n2.31.0\n", ["2.31.0"]),
        ("Update to v1.20.5 to fix this.", ["1.20.5"]),
        ("Version 7.1.2 and later are not affected.", ["7.1.2"]),
        ("Release 5.3.1 fixes this issue.", ["5.3.1"]),
        ("bookworm (security)  1:2.4.57-2+deb12u1  fixed", ["1:2.4.57-2+deb12u1"]),
        ("Ubuntu 22.04 LTS: upgrade openssl to 3.0.2-0ubuntu1.10", ["3.0.2-0ubuntu1.10"]),
    ],
)
def test_fixed_versions(text: str, fixed: list[str]) -> None:
    assert record(text).fixed_versions == fixed


def test_an_upgrade_from_one_version_to_another_is_no_range() -> None:
    found = record("Upgrade from 2.4.57 to 2.4.58 now.")
    assert found.affected_versions == []
    assert found.fixed_versions == ["2.4.58"]


def test_versions_of_the_three_conventions_order_and_split() -> None:
    assert key("1.1.1") < key("1.1.1a") < key("1.1.1t") < key("3.0.0")
    assert key("2.0.0rc1") < key("2.0.0") < key("2.0.1")
    assert upstream("1:2.4.57-2+deb12u1") == "2.4.57"
    assert upstream("1.1.1n-0+deb11u4") == "1.1.1n"
    assert split_range("2.4.0-2.4.57") == ("2.4.0", "2.4.57")
    assert split_range("1.2.3-1") is None
    assert VersionRange(lower="2.4.0", upper="2.4.57", upper_inclusive=True).contains("2.4.57")
    assert VersionRange(upper="1.1.1t").contains("1.1.1t") is False
    assert VersionRange(upper="2.0").contains("1.9-1+deb11u1") is None


# --- product and severity ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("A flaw was found in the Linux kernel before 6.1.2.", "Linux kernel"),
        ("Versions of requests prior to 2.31.0 leak headers.", "requests"),
        ("This issue affects Apache Tomcat: from 9.0.0 through 9.0.80.", "Apache Tomcat"),
        ("Package: `lodash` (npm)\nAffected versions: < 4.17.21", "lodash"),
    ],
)
def test_the_product_is_named(text: str, product: str) -> None:
    assert record(text).product == product


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Severity: Important", "high"),
        ("Moderate severity GitHub Reviewed", "medium"),
        ("CVSS v3.1 Base Score 9.8 CRITICAL", "critical"),
        ("CVSS score: 5.3", "medium"),
        ("Severity\nLow\n", "low"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
        ("This is a low-hanging fruit for attackers.", None),
    ],
)
def test_severity_as_stated_or_by_score(text: str, severity: str | None) -> None:
    assert record(text).severity == severity


# --- actions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("As a workaround, disable HTTP/2 on the server.", "Disable HTTP/2 on the server."),
        ("Users unable to upgrade should restrict access to the admin port.",
         "Restrict access to the admin port."),
        ("Workarounds:\n- Set MaxRequestWorkers to 100.\n", "Set MaxRequestWorkers to 100."),
        ("This can be mitigated by disabling the mod_lua module.", "Disable the mod_lua module."),
        ("Until you can upgrade, do not expose the API to the internet.",
         "Do not expose the API to the internet."),
        ("After the update you must restart all services using OpenSSL.",
         "Restart all services using OpenSSL."),
    ],
)  # fmt: skip
def test_workarounds_become_imperative_sentences(text: str, action: str) -> None:
    assert action in record(text).actions


def test_the_upgrade_comes_first_and_actions_are_not_repeated() -> None:
    found = record(NVD, VENDOR, VENDOR)
    assert found.actions == [
        "Upgrade Apache HTTP Server to 2.4.56 or later.",
        "Disable mod_proxy if it is not needed.",
    ]


def test_no_workaround_is_no_action() -> None:
    found = record("There are no known workarounds. Upgrade to the latest fixed release.")
    assert found.actions == ["Upgrade the affected software to a fixed version."]


# --- whole advisories -------------------------------------------------------------------


def test_an_nvd_page_and_a_vendor_bulletin() -> None:
    found = record(NVD, VENDOR, summaries=["Request smuggling in mod_proxy", "Fix in 2.4.56"])
    assert found.cve_id == "CVE-2023-25690"
    assert found.product == "Apache HTTP Server"
    assert found.affected_versions == ["2.4.0 - 2.4.55"]
    assert found.fixed_versions == ["2.4.56"]
    assert found.severity == "critical"
    assert found.sources == ["https://site0.example/advisory", "https://site1.example/advisory"]
    assert found.summaries == ["Request smuggling in mod_proxy", "Fix in 2.4.56"]
    assert found.notes == []
    assert describe(found) == (
        "CVE-2023-25690 (Apache HTTP Server, critical): fixed in 2.4.56; 2 actions; 2 advisories"
    )


def test_a_github_advisory() -> None:
    found = record(GITHUB)
    assert (found.cve_id, found.product, found.severity) == ("CVE-2023-32681", "requests", "medium")
    assert found.affected_versions == [">= 2.3.0, < 2.31.0"]
    assert found.fixed_versions == ["2.31.0"]
    assert "Disable proxy authentication on redirects." in found.actions


def test_a_distribution_tracker_and_the_upstream_advisory() -> None:
    found = record(DEBIAN, OPENSSL)
    assert found.product == "OpenSSL"
    assert found.affected_versions == [
        "1.1.1n-0+deb11u3", "3.0.0 - 3.0.7", ">= 1.1.1, < 1.1.1t",
    ]  # fmt: skip
    assert found.fixed_versions == ["1.1.1n-0+deb11u4", "3.0.8-1", "3.0.8", "1.1.1t"]
    assert found.severity == "high"
    # A backport packs another upstream release: said, as the two disagree on its number.
    assert len(found.notes) == 1
    assert "different fixed versions" in found.notes[0]


def test_disagreements_are_noted() -> None:
    first = "CVE-2024-1111: libbar before 1.4.2 is vulnerable. Severity: high. Fixed in 1.4.2."
    second = "CVE-2024-1111 affects libbar through 1.4.2; fixed in 1.4.3. Severity: critical."
    found = record(first, second)
    assert found.fixed_versions == ["1.4.2", "1.4.3"]
    assert found.notes == [
        "the advisories name different fixed versions (site0.example: 1.4.2; site1.example: 1.4.3)",
        "site0.example names 1.4.2 as fixed, but site1.example gives it as affected (<= 1.4.2)",
        "the advisories rate the severity differently (site0.example: high, site1.example: "
        "critical)",
    ]


def test_an_advisory_about_another_id_is_noted() -> None:
    found = record("CVE-2024-1111 in foo", "CVE-2024-1111 again", "CVE-2024-2222 in bar")
    assert found.notes == ["site2.example is about CVE-2024-2222, not CVE-2024-1111"]


def test_facts_come_from_the_texts_not_the_summaries() -> None:
    found = record("Nothing about versions here.", summaries=["Fixed in 9.9.9, CVE-2099-0001"])
    assert found.fixed_versions == []
    assert found.cve_ids == []


# --- refused input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_body",
    [
        {"advisories": []},
        {"advisories": [{"source": "x", "text": "t"}] * 9},
        {"advisories": [{"source": "", "text": "t"}]},
        {"advisories": [{"source": "x", "text": "   "}]},
        {"advisories": [{"source": "x" * 501, "text": "t"}]},
        {"advisories": [{"source": "x", "text": "t" * 20_001}]},
        {"advisories": [{"source": "x", "text": "t", "url": "u"}]},
        {"advisories": [{"source": "x", "text": "t"}], "summaries": ["a", "b"]},
        {"advisories": [{"source": "x", "text": "t"}], "summaries": [{"summary": "a", "x": 1}]},
        {"advisories": [{"source": "x", "text": "t"}], "extra": True},
    ],
)
def test_bad_input_is_refused(request_body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RemediationRequest.model_validate(request_body)


def test_the_largest_input_is_read_quickly() -> None:
    import time

    text = ("Foo 1.2.3 before 1.2.4 is affected; fixed in 1.2.4. " * 400)[:20_000]
    started = time.perf_counter()
    record(*[text] * 8)
    assert time.perf_counter() - started < 2.0


# --- the pipeline -----------------------------------------------------------------------


def summarized(step: str, summary: str) -> CallOutcome:
    output = {"summary": summary, "words": len(summary.split()), "truncated": False}
    return CallOutcome(
        task_id=f"r:{step}", micromodel="summarizer", arguments={}, status="ok", output=output
    )


def test_the_pipeline_maps_the_summarizer_and_feeds_the_record() -> None:
    pipeline = load_pipeline(PIPELINE)
    assert pipeline.name == "cve-remediation"
    arguments = {
        "advisories": [
            {"source": "https://nvd.example/CVE-2023-25690", "text": NVD},
            {"source": "Apache bulletin", "text": VENDOR},
        ]
    }
    jsonschema.validate(arguments, pipeline.input_schema)
    first = advance(pipeline, arguments, {}, {})
    assert [(c.label, c.micromodel) for c in first.calls] == [
        ("summaries[0]", "summarizer"),
        ("summaries[1]", "summarizer"),
    ]
    assert first.calls[1].arguments["text"] == VENDOR
    answered = {
        "summaries[0]": summarized("summaries[0]", "Request smuggling in Apache mod_proxy"),
        "summaries[1]": summarized("summaries[1]", "Apache 2.4.56 fixes request splitting"),
    }
    second = advance(pipeline, arguments, {}, answered)
    assert [(c.label, c.micromodel) for c in second.calls] == [("record", "remediation")]
    # What the map gives, as it gives it, fits the remediation input as it is.
    request = RemediationRequest.model_validate(second.calls[0].arguments)
    made = remediate(request)
    assert made.summaries == [
        "Request smuggling in Apache mod_proxy",
        "Apache 2.4.56 fixes request splitting",
    ]
    answered["record"] = CallOutcome(
        task_id="r:record",
        micromodel="remediation",
        arguments={},
        status="ok",
        output=made.model_dump(),
    )
    shaped = shape(pipeline, arguments, step_results(pipeline, {}, answered))
    assert shaped.output == made.model_dump()
    assert pipeline.output_schema is not None
    jsonschema.validate(shaped.output, pipeline.output_schema)
    assert shaped.answer is not None
    assert shaped.answer.startswith("CVE-2023-25690")
    assert "2.4.56" in shaped.answer


def test_the_pipeline_refuses_what_the_summarizer_could_not_take() -> None:
    pipeline = load_pipeline(PIPELINE)
    long = {"advisories": [{"source": "x", "text": "t" * 12_001}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(long, pipeline.input_schema)


async def test_the_planner_offers_the_pipeline_for_a_remediation_record() -> None:
    pipeline = load_pipeline(PIPELINE)
    tools = {pipeline.name: pipeline_view(pipeline)}
    plan = await RulesPlanner().plan(
        "Build a remediation record for CVE-2024-1234 from these advisories: NVD says "
        "libfoo before 1.2.3 is affected.",
        tools,
    )
    assert [c.micromodel for c in plan.calls] == ["cve-remediation"]
