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
    # The upstream releases: the tracker's package builds are a distribution's fixes,
    # said in a note, not the product's.
    assert found.fixed_versions == ["3.0.8", "1.1.1t"]
    assert found.severity == "high"
    assert len(found.notes) == 2
    assert "different fixed versions" in found.notes[0]
    assert "1.1.1n-0+deb11u4 (site0.example), 3.0.8-1 (site0.example)" in found.notes[1]


def test_package_builds_are_the_fix_when_no_upstream_release_is_named() -> None:
    found = record("CVE-2023-0286\nbookworm (security) 3.0.11-1~deb12u2 fixed\n")
    assert found.fixed_versions == ["3.0.11-1~deb12u2"]


def test_disagreements_are_noted() -> None:
    first = "CVE-2024-1111: libbar before 1.4.2 is vulnerable. Severity: high. Fixed in 1.4.2."
    second = "CVE-2024-1111 affects libbar through 1.4.2; fixed in 1.4.3. Severity: critical."
    found = record(first, second)
    # 1.4.2 is given as affected by an advisory that names a later fix of its line.
    assert found.fixed_versions == ["1.4.3"]
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


@pytest.mark.parametrize(
    "text",
    [
        ("Fixed in " + "1.2.3 (x) and " * 2000)[:20_000],
        ("1.2.3, " * 4000)[:20_000],
        ("[1.2.3, " * 3000)[:20_000],
        ("1.2.3 and later releases of 1.2, " * 700)[:20_000],
        ("upgrade from 1.2.3 to 1.2.4 " * 800)[:20_000],
    ],
)
def test_a_long_sentence_of_versions_is_read_in_linear_time(text: str) -> None:
    # A sentence is read once for each version it names: every look back is bounded,
    # or such a page costs seconds.
    import time

    started = time.perf_counter()
    record(text)
    assert time.perf_counter() - started < 3.0


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


# --- whole records: the fixed versions and the product ------------------------------------
# Sets of advisories as NVD, vendors, GitHub, distributions and trackers write them (real
# public CVEs retold, and invented ones), each with what a security engineer expects: the
# upstream versions that fix this CVE, one per release line (no distribution package
# build when an upstream release is named, no earlier incomplete fix, no other CVE's
# fix, no later release named only as "the latest"), and the product the pages name.

REGRESSHION = [
    "CVE-2024-6387 Detail. A security regression (CVE-2006-5051) was discovered in "
    "OpenSSH's server (sshd). There is a race condition which can lead sshd to handle some "
    "signals in an unsafe manner. CVSS 3.x: 8.1 HIGH.",
    "OpenSSH 9.8 was released on 2024-07-01. Race condition in sshd(8) (CVE-2024-6387). "
    "Portable OpenSSH versions 8.5p1 to 9.7p1 (inclusive) are affected. Fixed in OpenSSH "
    "9.8p1. Versions older than 4.4p1 are vulnerable unless patched for CVE-2006-5051 and "
    "CVE-2008-4109.",
    "CVE-2024-6387\nSource Package Release Version Status\nopenssh (PTS) bookworm "
    "1:9.2p1-2+deb12u2 vulnerable\nbookworm (security) 1:9.2p1-2+deb12u3 fixed\n"
    "sid 1:9.7p1-7 fixed\n",
]
LOG4J_INCOMPLETE = [
    "CVE-2021-45046: It was found that the fix to address CVE-2021-44228 in Apache Log4j "
    "2.15.0 was incomplete in certain non-default configurations. Log4j 2.16.0 (Java 8) "
    "and 2.12.2 (Java 7) fix this issue by removing support for message lookup patterns.",
    "Apache Log4j Security Vulnerabilities. CVE-2021-45046. Fixed in Log4j 2.16.0 (Java 8) "
    "and Log4j 2.12.2 (Java 7). Severity: Critical.",
]
ACTIVEMQ = [
    "CVE-2023-46604 The Java OpenWire protocol marshaller is vulnerable to Remote Code "
    "Execution. This issue affects Apache ActiveMQ: before 5.15.16, from 5.16.0 before "
    "5.16.7, from 5.17.0 before 5.17.6, from 5.18.0 before 5.18.3. Users are recommended to "
    "upgrade both brokers and clients to version 5.15.16, 5.16.7, 5.17.6, or 5.18.3 which "
    "fixes this issue.",
    "Package\nMaven org.apache.activemq:activemq-client\n\nAffected versions\n< 5.15.16\n"
    "\nPatched versions\n5.15.16\n\nCVE ID\nCVE-2023-46604\n",
    "Apache ActiveMQ security advisory CVE-2023-46604. Severity: Critical. Upgrade to "
    "Apache ActiveMQ 5.18.3, 5.17.6, 5.16.7 or 5.15.16.",
]
RUNC = [
    "CVE-2024-21626 runc is a CLI tool for spawning and running containers on Linux "
    "according to the OCI specification. In runc 1.1.11 and earlier, due to an internal "
    "file descriptor leak, an attacker could cause a newly-spawned container process to "
    "have a working directory in the host filesystem namespace. This vulnerability is "
    "fixed in runc 1.1.12.",
    "USN-6619-1: runc vulnerabilities. Ubuntu 22.04 LTS: runc 1.1.7-0ubuntu1~22.04.2. "
    "Update instructions: the problem can be corrected by updating your system to the "
    "following package versions: runc 1.1.7-0ubuntu1~22.04.2",
]
TOMCAT = [
    "CVE-2021-25329 The fix for CVE-2020-9484 was incomplete. When using Apache Tomcat "
    "10.0.0-M1 to 10.0.0, 9.0.0.M1 to 9.0.41, 8.5.0 to 8.5.61 or 7.0.0 to 7.0.107 with a "
    "configuration edge case that was highly unlikely to be used, the Tomcat instance was "
    "still vulnerable to CVE-2020-9484.",
    "Fixed in Apache Tomcat 10.0.2\nImportant: Remote Code Execution via session "
    "persistence CVE-2021-25329\nAffects: 10.0.0-M1 to 10.0.0\n\nFixed in Apache Tomcat "
    "9.0.43\nAffects: 9.0.0.M1 to 9.0.42\n\nFixed in Apache Tomcat 8.5.63\n"
    "Fixed in Apache Tomcat 7.0.108\n",
    "CVE-2021-25329\nSource Package Release Version Status\ntomcat9 (PTS) bullseye "
    "9.0.43-2~deb11u8 fixed\nbuster 9.0.31-1~deb10u3 vulnerable\n",
]
SEMVER = [
    "semver vulnerable to Regular Expression Denial of Service\nModerate severity\n\n"
    "Package\nnpm/semver\n\nAffected versions\n< 5.7.2\n>= 6.0.0, < 6.3.1\n"
    ">= 7.0.0, < 7.5.2\n\nPatched versions\n5.7.2\n6.3.1\n7.5.2\n\nCVE-2022-25883\n",
    "CVE-2022-25883 Versions of the package semver before 7.5.2 are vulnerable to Regular "
    "Expression Denial of Service (ReDoS) via the function new Range. CVSS 5.3 MEDIUM.",
]
MAVEN_RANGES = [
    "CVE-2025-31001 widget-core: unsafe deserialization of job payloads.\n"
    "Package: maven/com.acme:widget-core\nAffected versions: [7.0.0, 7.4.11), [8.0.0,8.0.3)\n"
    "Severity: high\n",
]
PAN_OS = [
    "CVE-2024-3400 A command injection as a result of arbitrary file creation "
    "vulnerability in the GlobalProtect feature of Palo Alto Networks PAN-OS software for "
    "specific PAN-OS versions and distinct feature configurations may enable an "
    "unauthenticated attacker to execute arbitrary code with root privileges.",
    "PAN-OS: Arbitrary File Creation Leads to OS Command Injection Vulnerability in "
    "GlobalProtect (CVE-2024-3400). Severity: Critical. This issue is fixed in PAN-OS "
    "10.2.9-h1, PAN-OS 11.0.4-h1, PAN-OS 11.1.2-h3, and all later PAN-OS versions.",
]
CALENDAR_VERSIONS = [
    "CVE-2025-20250 Stratoview before 2025.03.1 and 2024.12.x before 2024.12.4 allows "
    "stored XSS in dashboards.",
    "Stratoview security release: 2025.03.1 and 2024.12.4 fix CVE-2025-20250. Users should "
    "upgrade as soon as possible.",
]
PRERELEASE = [
    "CVE-2025-11002: quickparse 1.0.2-beta1 and earlier are vulnerable to a stack overflow "
    "on deeply nested input. Fixed in quickparse 1.0.2-beta2.",
]
V_PREFIX = [
    "GHSA-7x9v-2q4r-abcd / CVE-2025-22017: `hashmate` leaks timing information.\n"
    "Upgrade to v3.4.1 and later.\nAffected: v3.0.0 through v3.4.0\n",
]
INCOMPLETE_PRIOR_FIX = [
    "CVE-2024-5555 gizmo-server: path traversal in the static file handler. The initial "
    "fix, released in gizmo-server 2.3.1, was incomplete. gizmo-server 2.3.2 fully resolves "
    "the issue.",
    "NVD: CVE-2024-5555 gizmo-server before 2.3.2 allows path traversal because of an "
    "incomplete fix for CVE-2024-4444.",
]
RELATED_CVE_FIX = [
    "CVE-2023-2222: widgetlib XML parser entity expansion. This vulnerability is a bypass "
    "of CVE-2023-1111, which was fixed in 4.0.3. CVE-2023-2222 is fixed in widgetlib 4.0.5.",
]
BEFORE_ONLY = [
    "CVE-2025-1001 Acme Widget Server before 3.3.7 allows server-side request forgery via "
    "the avatar URL. 8.6 HIGH.",
    "CISA KEV: Acme Widget Server Server-Side Request Forgery (CVE-2025-1001). Required "
    "action: apply mitigations per vendor instructions.",
]
CURL = [
    "SOCKS5 heap buffer overflow\nProject curl Security Advisory, October 11 2023\n"
    "CVE-2023-38545\n\nAFFECTED VERSIONS\n- Affected versions: curl 7.69.0 to and including "
    "8.3.0\n- Not affected versions: curl < 7.69.0 and curl >= 8.4.0\n\nSOLUTION\n"
    "- Upgrade curl to version 8.4.0\n",
    "USN-6429-1: curl vulnerabilities. CVE-2023-38545. Ubuntu 22.04 LTS: curl "
    "7.81.0-1ubuntu1.14, libcurl4 7.81.0-1ubuntu1.14",
]
USN_AND_UPSTREAM = [
    "USN-7301-1: libmarrow vulnerability. CVE-2025-27740: libmarrow incorrectly handled "
    "certain malformed archives. Update instructions: update to the latest libmarrow "
    "packages.",
    "libmarrow 3.1.4 fixes CVE-2025-27740 (integer overflow in archive header parsing). "
    "Severity: medium. All 3.x releases before 3.1.4 are affected.",
]
RUSTSEC = [
    "CVE-2025-40117 tinycsv-rs: out-of-bounds read on a quoted field at end of input. "
    "Severity: medium. Patched versions: 1.2.9.",
    "RUSTSEC-2025-0044 tinycsv-rs: out-of-bounds read. Patched: >=1.2.9. Aliases: CVE-2025-40117.",
]
FIXED_COLON = [
    "BG-SA-2025-06: Hard-coded credentials in Brightgate NAS OS (CVE-2025-35530). Severity: "
    "Critical. Affected: NAS OS 5.x before 5.2.4. Fixed: NAS OS v5.2.4. Change the admin "
    "password after updating.",
    "CVE-2025-35530 Brightgate NAS OS before 5.2.4 contains hard-coded credentials. 9.8 CRITICAL.",
]
DJANGO = [
    "CVE-2023-36053 An issue was discovered in Django 3.2 before 3.2.20, 4 before 4.1.10, "
    "and 4.2 before 4.2.3. EmailValidator and URLValidator were subject to a potential "
    "ReDoS attack.",
    "Django security releases issued: 4.2.3, 4.1.10, and 3.2.20. In accordance with our "
    "security release policy, the Django team is issuing Django 4.2.3, Django 4.1.10, and "
    "Django 3.2.20. These releases address the security issue with severity moderate.",
]
LATEST_NAMED_ELSEWHERE = [
    "CVE-2024-7777: zlibber decompression bomb. Fixed in zlibber 1.4.2.",
    "zlibber users should upgrade to the latest release, 1.4.5, which also contains the "
    "fix for CVE-2024-7777.",
]
JENKINS = [
    "Jenkins Security Advisory 2024-01-24. Arbitrary file read vulnerability through the "
    "CLI can lead to RCE. CVE-2024-23897. Severity: Critical. Affected versions: Jenkins "
    "weekly up to and including 2.441; Jenkins LTS up to and including 2.426.2. Jenkins "
    "weekly should be updated to version 2.442. Jenkins LTS should be updated to version "
    "2.426.3.",
]
GO_MODULE = [
    "Package\ngolang.org/x/net (Go)\n\nAffected versions\n< 0.17.0\n\nPatched versions\n"
    "0.17.0\n\nCVE-2023-39325: a malicious HTTP/2 client which rapidly creates requests and "
    "immediately resets them can cause excessive server resource consumption.",
]
REDHAT = [
    "CVE-2023-3618 A flaw was found in libtiff. A specially crafted tiff file can lead to a "
    "segmentation fault due to a buffer overflow in the Fax3Encode function in "
    "libtiff/tools/tiffcrop.c. Fixed in libtiff 4.5.1.\nFixed packages:\n"
    "libtiff-4.4.0-8.el9_2\nSeverity: Moderate",
    "Red Hat Enterprise Linux 9: libtiff 4.4.0-8.el9_2 fixed",
]
OPENSSL_BRANCHES = [DEBIAN, OPENSSL]
NODE = [
    "CVE-2024-27983 An attacker can make the Node.js HTTP/2 server completely unavailable "
    "by sending a small amount of HTTP/2 frames packets with a few HTTP/2 frames inside. "
    "Fixed in Node.js 18.20.1, 20.12.1 and 21.7.2.",
]
CISCO = [
    "Cisco IOS XE Software Web UI Privilege Escalation Vulnerability (CVE-2023-20198). "
    "Cisco has released free software updates that address this vulnerability. "
    "First fixed release: 17.9.4a.",
]

RECORDS = [
    (REGRESSHION, {"9.8p1"}, "OpenSSH"),
    (LOG4J_INCOMPLETE, {"2.16.0", "2.12.2"}, "Apache Log4j"),
    (ACTIVEMQ, {"5.15.16", "5.16.7", "5.17.6", "5.18.3"}, "Apache ActiveMQ"),
    (RUNC, {"1.1.12"}, "runc"),
    (TOMCAT, {"10.0.2", "9.0.43", "8.5.63", "7.0.108"}, "Apache Tomcat"),
    (SEMVER, {"5.7.2", "6.3.1", "7.5.2"}, "semver"),
    (MAVEN_RANGES, {"7.4.11", "8.0.3"}, "widget-core"),
    (PAN_OS, {"10.2.9-h1", "11.0.4-h1", "11.1.2-h3"}, "PAN-OS"),
    (CALENDAR_VERSIONS, {"2025.03.1", "2024.12.4"}, "Stratoview"),
    (PRERELEASE, {"1.0.2-beta2"}, "quickparse"),
    (V_PREFIX, {"3.4.1"}, "hashmate"),
    (INCOMPLETE_PRIOR_FIX, {"2.3.2"}, "gizmo-server"),
    (RELATED_CVE_FIX, {"4.0.5"}, "widgetlib"),
    (BEFORE_ONLY, {"3.3.7"}, "Acme Widget Server"),
    (CURL, {"8.4.0"}, "curl"),
    (USN_AND_UPSTREAM, {"3.1.4"}, "libmarrow"),
    (RUSTSEC, {"1.2.9"}, "tinycsv-rs"),
    (FIXED_COLON, {"5.2.4"}, "Brightgate NAS OS"),
    (DJANGO, {"3.2.20", "4.1.10", "4.2.3"}, "Django"),
    (LATEST_NAMED_ELSEWHERE, {"1.4.2"}, "zlibber"),
    (JENKINS, {"2.442", "2.426.3"}, "Jenkins"),
    (GO_MODULE, {"0.17.0"}, "golang.org/x/net"),
    (REDHAT, {"4.5.1"}, "libtiff"),
    (OPENSSL_BRANCHES, {"3.0.8", "1.1.1t"}, "OpenSSL"),
    (NODE, {"18.20.1", "20.12.1", "21.7.2"}, "Node.js"),
    (CISCO, {"17.9.4a"}, "Cisco IOS XE Software"),
]


SPRING = [
    "Spring Framework RCE via Data Binding on JDK 9+ (CVE-2022-22965). Severity: Critical. "
    "Affected: Spring Framework 5.3.0 to 5.3.17, 5.2.0 to 5.2.19. Spring Framework 5.3.18 "
    "and 5.2.20, which contain the fixes, have been released.",
    "CVE-2022-22965 A Spring MVC or Spring WebFlux application running on JDK 9+ may be "
    "vulnerable to remote code execution (RCE) via data binding. 9.8 CRITICAL.",
]
OPENSSL_307 = [
    "OpenSSL Security Advisory [01 November 2022]\nX.509 Email Address 4-byte Buffer "
    "Overflow (CVE-2022-3602)\nSeverity: High\nOpenSSL versions 3.0.0 to 3.0.6 are "
    "vulnerable to this issue. OpenSSL 3.0 users should upgrade to OpenSSL 3.0.7. OpenSSL "
    "1.1.1 and 1.0.2 are not affected by this issue.",
    "USN-5710-1: OpenSSL vulnerabilities. CVE-2022-3602. Ubuntu 22.04 LTS: libssl3 - "
    "3.0.2-0ubuntu1.7, openssl - 3.0.2-0ubuntu1.7",
]
CITRIX_BLEED = [
    "CVE-2023-4966 Sensitive information disclosure in NetScaler ADC and NetScaler Gateway "
    "14.1 before 14.1-8.50, 13.1 before 13.1-49.15, 13.0 before 13.0-92.19.",
    "NetScaler ADC and NetScaler Gateway Security Bulletin for CVE-2023-4966. Cloud "
    "Software Group strongly urges affected customers to install the relevant updated "
    "versions: NetScaler ADC and NetScaler Gateway 14.1-8.50 and later releases, "
    "13.1-49.15 and later releases of 13.1, 13.0-92.19 and later releases of 13.0.",
]
GITLAB = [
    "CVE-2023-5009 An issue has been discovered in GitLab EE affecting all versions "
    "starting from 13.12 before 16.2.7, all versions starting from 16.3 before 16.3.4.",
    "GitLab Critical Security Release: 16.3.4 and 16.2.7. Today we are releasing versions "
    "16.3.4 and 16.2.7 for GitLab Enterprise Edition (EE). These versions contain "
    "important security fixes, including CVE-2023-5009.",
]
SUDO = [
    "CVE-2021-3156 Sudo before 1.9.5p2 contains an off-by-one error that can result in a "
    "heap-based buffer overflow, which allows privilege escalation to root.",
    "Buffer overflow in command line unescaping. Sudo versions 1.8.2 through 1.8.31p2 and "
    "1.9.0 through 1.9.5p1 are affected. The bug is fixed in sudo 1.9.5p2.",
]
KERNEL = [
    "CVE-2024-1086 In the Linux kernel, the following vulnerability has been resolved: "
    "netfilter: nf_tables: reject QUEUE/DROP verdict parameters.",
    "Issue introduced in 3.15 with commit f342de4e2f33 and fixed in 6.1.76 with commit "
    "8e34430e33b8. Issue introduced in 3.15 with commit f342de4e2f33 and fixed in 6.6.15 "
    "with commit 2cbbd6bd3cdb. Issue introduced in 3.15 and fixed in 6.7.3 with commit "
    "f1d2a3b4c5d6.",
]
WORDPRESS = [
    "CVE-2024-30001 The Contact Form 7 plugin for WordPress is vulnerable to Stored "
    "Cross-Site Scripting in all versions up to, and including, 5.9.2 due to insufficient "
    "input sanitization. 6.4 MEDIUM.",
    "Contact Form 7 <= 5.9.2 - Authenticated (Contributor+) Stored Cross-Site Scripting. "
    "CVE-2024-30001. Remediation: Update to version 5.9.3, or a newer patched version.",
]
RUSTSEC_RANGES = [
    "RUSTSEC-2024-0101 / CVE-2024-44001: `smolbuf` double free in `Buf::split`.\n"
    "Patched: >=0.5.2, <0.6.0; >=0.6.4\nUnaffected: <0.4.0\n",
]
CONFLUENCE = [
    "CVE-2023-22515 Broken Access Control in Atlassian Confluence Data Center and Server. "
    "Severity: Critical. Fixed versions: 8.3.3 or later, 8.4.3 or later, 8.5.2 (Long Term "
    "Support release) or later.",
]
MOVEIT = [
    "CVE-2023-34362 In Progress MOVEit Transfer before 2021.0.6 (13.0.6), 2021.1.4 "
    "(13.1.4), 2022.0.4 (14.0.4), 2022.1.5 (14.1.5), and 2023.0.1 (15.0.1), a SQL "
    "injection vulnerability has been found in the MOVEit Transfer web application.",
    "MOVEit Transfer Critical Vulnerability (CVE-2023-34362). Fixed in MOVEit Transfer "
    "2023.0.1 (15.0.1), 2022.1.5 (14.1.5), 2022.0.4 (14.0.4), 2021.1.4 (13.1.4) and "
    "2021.0.6 (13.0.6).",
]
DSA_AND_UPSTREAM = [
    "DSA-5729-1 apache2 - security update. CVE-2024-40725. For the stable distribution "
    "(bookworm), this problem has been fixed in version 2.4.62-1~deb12u1. We recommend "
    "that you upgrade your apache2 packages.",
    "Apache HTTP Server 2.4 vulnerabilities. moderate: source code disclosure with handlers "
    "configured via AddType (CVE-2024-40725). Fixed in Apache HTTP Server 2.4.62. Affects: "
    "2.4.0 through 2.4.61.",
]
GO_VULNDB = [
    "GO-2024-2611: Infinite loop in JSON unmarshaling in google.golang.org/protobuf "
    "(CVE-2024-24786). Affected: google.golang.org/protobuf before v1.33.0. Fixed in: "
    "google.golang.org/protobuf v1.33.0.",
]
CHROME = [
    "CVE-2023-7024 Heap buffer overflow in WebRTC in Google Chrome prior to 120.0.6099.129 "
    "allowed a remote attacker to potentially exploit heap corruption via a crafted HTML "
    "page. (Chromium security severity: High)",
    "Stable Channel Update for Desktop. The Stable channel has been updated to "
    "120.0.6099.129 for Mac and Linux and 120.0.6099.129/130 for Windows, which will roll "
    "out over the coming days/weeks. [N/A][1513170] High CVE-2023-7024: Heap buffer "
    "overflow in WebRTC.",
]
PILLOW = [
    "Package\npillow (pip)\n\nAffected versions\n< 10.0.1\n\nPatched versions\n10.0.1\n\n"
    "CVE-2023-4863 Heap buffer overflow in libwebp.",
    "CVE-2023-4863 Heap buffer overflow in libwebp in Google Chrome prior to "
    "116.0.5845.187 and libwebp 1.3.2 allowed a remote attacker to perform an out of "
    "bounds memory write via a crafted HTML page.",
    "Pillow 10.0.1 updates the bundled libwebp to 1.3.2 to fix CVE-2023-4863.",
]

MORE_RECORDS = [
    (SPRING, {"5.3.18", "5.2.20"}, "Spring Framework"),
    (OPENSSL_307, {"3.0.7"}, "OpenSSL"),
    (CITRIX_BLEED, {"14.1-8.50", "13.1-49.15", "13.0-92.19"}, "NetScaler ADC"),
    (GITLAB, {"16.3.4", "16.2.7"}, "GitLab"),
    (SUDO, {"1.9.5p2"}, "Sudo"),
    (KERNEL, {"6.1.76", "6.6.15", "6.7.3"}, "Linux kernel"),
    (WORDPRESS, {"5.9.3"}, "Contact Form 7"),
    (RUSTSEC_RANGES, {"0.5.2", "0.6.4"}, "smolbuf"),
    (CONFLUENCE, {"8.3.3", "8.4.3", "8.5.2"}, "Confluence"),
    (MOVEIT, {"2023.0.1", "2022.1.5", "2022.0.4", "2021.1.4", "2021.0.6"}, "MOVEit Transfer"),
    (DSA_AND_UPSTREAM, {"2.4.62"}, "Apache HTTP Server"),
    (GO_VULNDB, {"1.33.0"}, "google.golang.org/protobuf"),
    (CHROME, {"120.0.6099.129"}, "Google Chrome"),
    (PILLOW, {"10.0.1"}, "Pillow"),
]


# Advisories written after the code above was, to check it on wordings it was not
# written for (FortiOS, urllib3, lodash, Exim, nginx, a follow-up CVE, Tomcat, PHP,
# Grafana, xz, Commons Text).
BLIND_RECORDS = [
    (
        [
            "CVE-2024-21762 A out-of-bounds write in Fortinet FortiOS version 7.4.0 through "
            "7.4.2, FortiOS version 7.2.0 through 7.2.6 allows a remote unauthenticated attacker "
            "to execute arbitrary code.",
            "FG-IR-24-015 Out-of-bound Write in sslvpnd. Severity: Critical.\nSolutions:\nPlease "
            "upgrade to FortiOS version 7.4.3 or above\nPlease upgrade to FortiOS version 7.2.7 "
            "or above\n",
        ],
        {"7.2.7", "7.4.3"},
        "FortiOS",
    ),
    (
        [
            "CVE-2023-45803 urllib3 is a user-friendly HTTP client library for Python. urllib3 "
            "previously wouldn't remove the HTTP request body when an HTTP redirect response "
            "using status 303. This issue has been patched in urllib3 version 1.26.18 and 2.0.7.",
        ],
        {"1.26.18", "2.0.7"},
        "urllib3",
    ),
    (
        [
            "Package\nlodash (npm)\nAffected versions\n< 4.17.21\nPatched versions\n4.17.21\n### "
            "Patches\nThe problem has been patched in version 4.17.21.\nCVE-2021-23337",
            "CVE-2021-23337 Lodash versions prior to 4.17.21 are vulnerable to Command Injection "
            "via the template function.",
        ],
        {"4.17.21"},
        "lodash",
    ),
    (
        [
            "CVE-2023-42115 Exim before 4.96.1 allows an out-of-bounds write in the SMTP service.",
            "Fixed in Exim 4.96.1. Distributions backported the fix, e.g. Debian exim4 "
            "4.96-15+deb12u2.",
        ],
        {"4.96.1"},
        "Exim",
    ),
    (
        [
            "A security issue in nginx resolver was identified, which might allow an attacker to "
            "cause 1-byte memory overwrite (CVE-2021-23017). Severity: medium. The issue affects "
            "nginx 0.6.18 - 1.20.0. The issue is fixed in nginx 1.21.0, 1.20.1.",
        ],
        {"1.20.1", "1.21.0"},
        "nginx",
    ),
    (
        [
            "CVE-2022-22968: This is a follow-up to CVE-2022-22965 which was fixed in 5.3.18. "
            "Spring Framework 5.3.19 and 5.2.21 address this issue. Affected: Spring Framework "
            "5.3.0 to 5.3.18, 5.2.0 to 5.2.20.",
        ],
        {"5.2.21", "5.3.19"},
        "Spring Framework",
    ),
    (
        [
            "CVE-2024-56337 Apache Tomcat 11.0.0-M1 through 11.0.1, 10.1.0-M1 through 10.1.33, "
            "9.0.0.M1 through 9.0.97 are affected. Users are recommended to upgrade to version "
            "11.0.2, 10.1.34 or 9.0.98, which fixes the issue.",
        ],
        {"10.1.34", "11.0.2", "9.0.98"},
        "Apache Tomcat",
    ),
    (
        [
            "CVE-2024-4577 In PHP versions 8.1.* before 8.1.29, 8.2.* before 8.2.20, 8.3.* "
            "before 8.3.8, when using Apache and PHP-CGI on Windows, the system may interpret "
            "characters as PHP options.",
        ],
        {"8.1.29", "8.2.20", "8.3.8"},
        "PHP",
    ),
    (
        [
            "CVE-2021-43798 Grafana is an open-source platform for monitoring and observability. "
            "Grafana versions 8.0.0-beta1 through 8.3.0 are vulnerable to directory traversal. "
            "This is fixed in versions 8.3.1, 8.2.7, 8.1.8, and 8.0.7.",
        ],
        {"8.0.7", "8.1.8", "8.2.7", "8.3.1"},
        "Grafana",
    ),
    (
        [
            "CVE-2024-3094 Malicious code was discovered in the upstream tarballs of xz, "
            "starting with version 5.6.0. Severity: Critical.",
            "xz-utils 5.6.0 and 5.6.1 contain a backdoor. Downgrade to 5.4.6, or upgrade to "
            "5.6.2 which removes it.",
        ],
        {"5.6.2"},
        "xz",
    ),
    (
        [
            "CVE-2022-42889 Apache Commons Text performs variable interpolation ... This issue "
            "affects Apache Commons Text versions 1.5 through 1.9. Users are recommended to "
            "upgrade to Apache Commons Text 1.10.0, which disables the problematic interpolators "
            "by default.",
        ],
        {"1.10.0"},
        "Apache Commons Text",
    ),
]


# Notations met later: a slash between versions, two-part versions, an OSV record,
# "Patches:" inline, a label inside a paragraph, a SUSE update, a weakness "in" a product.
NOTATION_RECORDS = [
    (
        [
            "CVE-2025-0001 Fixed versions: 2.4.1 / 3.0.2. Product: Acme Gateway",
        ],
        {"2.4.1", "3.0.2"},
        "Acme Gateway",
    ),
    (
        [
            "CVE-2025-0002 A heap overflow in libzork was addressed in version 1.2.3.",
        ],
        {"1.2.3"},
        "libzork",
    ),
    (
        [
            "CVE-2025-0003 Frobnicator 4.0 through 4.4 is affected. Upgrade to 4.5 or later.",
        ],
        {"4.5"},
        "Frobnicator",
    ),
    (
        [
            '{"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2025-0005"], "affected": '
            '[{"package": {"ecosystem": "PyPI", "name": "snakeoil"}, "ranges": '
            '[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": '
            '"1.4.2"}]}]}]}',
        ],
        {"1.4.2"},
        "snakeoil",
    ),
    (
        [
            "CVE-2025-0006 Widgetron versions < 1.5.0 are vulnerable; >= 1.5.0 are patched.",
        ],
        {"1.5.0"},
        "Widgetron",
    ),
    (
        [
            "Vendor: Acme\nProduct: WidgetPro\nCVE-2025-0007\nSolution: Update WidgetPro to "
            "7.2.1 or later.",
        ],
        {"7.2.1"},
        "WidgetPro",
    ),
    (
        [
            "CVE-2025-0008 Improper input validation in the Bazinga web console allows XSS. "
            "Affected versions: 3.1.x before 3.1.9 and 3.2.x before 3.2.4. Apply the update "
            "(3.1.9 or 3.2.4).",
        ],
        {"3.1.9", "3.2.4"},
        "Bazinga",
    ),
    (
        [
            "SUSE-SU-2025:0100-1: important: Security update for flimflam. CVE-2025-0009. "
            "flimflam was updated to version 2.8.3: fixes a use-after-free.",
        ],
        {"2.8.3"},
        "flimflam",
    ),
    (
        [
            "CVE-2025-0010 Jetty versions 9.4.0 to 9.4.53, 10.0.0 to 10.0.19 and 11.0.0 to "
            "11.0.19 are affected. Patches: 9.4.54, 10.0.20, 11.0.20, 12.0.3.",
        ],
        {"10.0.20", "11.0.20", "12.0.3", "9.4.54"},
        "Jetty",
    ),
]


def _same_product(found: str | None, expected: str) -> bool:
    # As a reader takes it: either names the other, regardless of case.
    return bool(found) and (
        expected.casefold() in (found or "").casefold()
        or (found or "").casefold() in expected.casefold()
    )


@pytest.mark.parametrize(
    ("texts", "fixed", "product"), RECORDS + MORE_RECORDS + BLIND_RECORDS + NOTATION_RECORDS
)
def test_the_fixed_versions_of_a_record(texts: list[str], fixed: set[str], product: str) -> None:
    assert set(record(*texts).fixed_versions) == fixed


@pytest.mark.parametrize(
    ("texts", "fixed", "product"), RECORDS + MORE_RECORDS + BLIND_RECORDS + NOTATION_RECORDS
)
def test_the_product_of_a_record(texts: list[str], fixed: set[str], product: str) -> None:
    found = record(*texts).product
    assert _same_product(found, product), found


@pytest.mark.parametrize(
    ("texts", "product"),
    [
        (["Affected product: Apache ActiveMQ Artemis\nFixed in 2.31.2"], "Apache ActiveMQ Artemis"),
        (["Package: npm/@acme/parser\nPatched versions: 2.1.4"], "@acme/parser"),
        (["Cisco Security Advisory: Cisco IOS XE Software Web UI Privilege Escalation "
          "Vulnerability CVE-2023-20198"], "Cisco IOS XE"),
        # The vendor's name alone is passed over for the product another advisory names.
        (["Cisco Security Advisory: flaw. Fixed in 17.9.4a",
          "Cisco IOS XE Software before 17.9.4a is affected"], "Cisco IOS XE"),
    ],
)  # fmt: skip
def test_how_the_product_is_named(texts: list[str], product: str) -> None:
    assert record(*texts).product == product


def test_a_lower_bound_under_a_fixed_or_unaffected_heading_is_a_fix() -> None:
    found = record("Patched: >=0.5.2, <0.6.0; >=0.6.4\nUnaffected: <0.4.0\n")
    assert found.fixed_versions == ["0.5.2", "0.6.4"]
    assert found.affected_versions == []
    curl = record("Not affected versions: curl < 7.69.0 and curl >= 8.4.0")
    assert curl.fixed_versions == ["8.4.0"]


def test_what_was_left_out_of_the_fixed_versions_is_noted() -> None:
    found = record(*TOMCAT)
    assert any("9.0.43-2~deb11u8" in note for note in found.notes)
    implied = record(*BEFORE_ONLY)
    assert implied.fixed_versions == ["3.3.7"]
    assert any("first release after each affected range" in note for note in implied.notes)
