"""Policy contracts and report rules: the documented shape loads exactly, mistakes are refused with their path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from monitor.core.errors import PolicyError
from monitor.core.policy import parse_policy
from tests.conftest import POLICY_YAML

SERVICES = """
services:
  mail: {availability: 99.9, timezone: Asia/Shanghai}
  crm: {availability: 99.0, timezone: Asia/Shanghai}
"""

CONTRACTS = """
contracts:
  acme:
    name: ACME GmbH
    monthly_fee: 12000.10
    currency: EUR
    services: [mail, crm]
    kpis:
      response_compliance: 95
      resolution_compliance: 90
      first_contact_resolution: 85
      csat: 4.5
      availability: true
    credits:
      per_breach: {P1: 10, P2: 7.5, P3: 5}
      availability: 10
      cap: 20
report:
  due_day: 5
  improvement_after: 3
  improvement_days: 15
"""

TEXT = POLICY_YAML + SERVICES + CONTRACTS


def test_contract_loads_with_exact_decimals() -> None:
    """Fee, rates and targets are the decimals written in the file, not binary floats, and the KPIs keep their names."""
    policy = parse_policy(TEXT)
    acme = policy.contracts["acme"]
    assert acme.monthly_fee == Decimal("12000.10")
    assert acme.per_breach == {"P1": Decimal(10), "P2": Decimal("7.5"), "P3": Decimal(5)}
    assert acme.cap_amount == Decimal("2400.020")
    assert list(acme.kpis) == ["response_compliance", "resolution_compliance", "first_contact_resolution", "csat",
                               "availability"]
    assert acme.kpis["csat"] == Decimal("4.5")
    assert acme.services == ("mail", "crm")
    assert (policy.report.due_day, policy.report.improvement_after, policy.report.improvement_days) == (5, 3, 15)


def test_contracts_and_report_are_optional() -> None:
    """A policy without contracts has none and the default report rules (5th, 3 months, 15 days)."""
    policy = parse_policy(POLICY_YAML)
    assert policy.contracts == {}
    assert (policy.report.due_day, policy.report.improvement_after, policy.report.improvement_days) == (5, 3, 15)


def _with(old: str, new: str) -> str:
    assert old in TEXT
    return TEXT.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        # A service the policy does not define.
        (_with("services: [mail, crm]", "services: [mail, erp]"), "contracts.acme.services.1", "unknown service 'erp'"),
        # A service listed twice.
        (_with("services: [mail, crm]", "services: [mail, mail]"), "contracts.acme.services.1", "listed twice"),
        # A per-breach rate for a priority the targets do not define.
        (_with("P3: 5}", "P4: 5}"), "contracts.acme.credits.per_breach.P4", "unknown priority 'P4'"),
        # Percentages outside 0-100.
        (_with("cap: 20", "cap: 120"), "contracts.acme.credits.cap", "outside 0-100"),
        (_with("P2: 7.5", "P2: -1"), "contracts.acme.credits.per_breach.P2", "outside 0-100"),
        (_with("response_compliance: 95", "response_compliance: 101"), "contracts.acme.kpis.response_compliance", "outside 0-100"),
        # A csat target outside the 1-5 scale.
        (_with("csat: 4.5", "csat: 6"), "contracts.acme.kpis.csat", "outside 1-5"),
        # A negative fee, and one with fractions of a cent.
        (_with("monthly_fee: 12000.10", "monthly_fee: -5"), "contracts.acme.monthly_fee", "negative"),
        (_with("monthly_fee: 12000.10", "monthly_fee: 12000.105"), "contracts.acme.monthly_fee", "more than 2 decimals"),
        # Not a number at all.
        (_with("monthly_fee: 12000.10", "monthly_fee: lots"), "contracts.acme.monthly_fee", "invalid number"),
        # A currency that is not an ISO code.
        (_with("currency: EUR", "currency: euro"), "contracts.acme.currency", "pattern"),
        # A misspelt KPI.
        (_with("csat: 4.5", "cast: 4.5"), "contracts.acme.kpis.cast", "unknown field"),
        # availability must be true (or left out).
        (_with("availability: true", "availability: 99"), "contracts.acme.kpis.availability", "True"),
        # A due day some months do not have.
        (_with("due_day: 5", "due_day: 31"), "report.due_day", "less than or equal to 28"),
    ],
)
def test_invalid_contracts_are_refused_with_file_path_and_problem(text: str, path: str, message: str) -> None:
    """A bad contract raises PolicyError naming the file, the path in it and what is wrong."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "contract.yaml")
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"contract.yaml: {path}") and message in line for line in lines), lines


def test_availability_kpi_needs_services() -> None:
    """An availability KPI without services is refused: there would be nothing to measure."""
    text = _with("services: [mail, crm]", "services: []").replace("      availability: 10\n", "")
    with pytest.raises(PolicyError, match=r"contracts\.acme\.kpis\.availability: no services listed"):
        parse_policy(text, "contract.yaml")


def test_policy_check_summarises_each_contract() -> None:
    """`policy check` lists each contract's fee, services, KPI targets and credit rates with the cap as an amount."""
    from monitor.cli.summary import describe_policy

    text = describe_policy(parse_policy(TEXT, "contract.yaml"), 1_790_000_000 * 10**6)
    assert "contracts (report of a month due on day 5 of the next; improvement plan after 3 failing months" in text
    assert "  acme (ACME GmbH): 12000.10 EUR a month; services mail, crm" in text
    assert "csat >= 4.5" in text
    assert "credits: per breach P1 10 %, P2 7.5 %, P3 5 %; 10 % per service below its availability target; " \
           "cap 20 % (2400.02 EUR)" in text
