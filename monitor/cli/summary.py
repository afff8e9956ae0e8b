"""A short human summary of a policy, for ``sla-monitor policy check``."""

from __future__ import annotations

from decimal import Decimal

from monitor.core.budget import budget_us, period_label, period_of
from monitor.core.calendar import BusinessCalendar, Interval
from monitor.core.contracts import CENT, Contract
from monitor.core.durations import format_duration
from monitor.core.instants import format_us
from monitor.core.policy import DAYS, Escalation, Policy, TargetPartDoc


def describe_policy(policy: Policy, at_us: int) -> str:
    """Summarise calendars (with next opening after ``at_us``), targets and overrides."""
    lines = [f"{policy.source}: OK", "", "calendars:"]
    width = max(len(name) for name in policy.calendars)
    for name, calendar in policy.calendars.items():
        opening = format_us(calendar.next_opening(at_us), calendar.timezone)
        state = "open now" if calendar.is_open(at_us) else f"next opening {opening}"
        lines.append(f"  {name:<{width}}  {calendar.timezone.key}  {_hours(calendar)}  ({state})")
    lines.append("")
    lines.append(f"service hours: {_name_of(policy, policy.service_hours) if policy.service_hours else 'not set (every ticket opens in hours)'}")
    lines.append("")
    lines.append("targets:")
    for priority, target in policy.targets.items():
        text = f"  {priority}: calendar {target.calendar}, respond {format_duration(target.response)}, resolve {format_duration(target.resolution)}"
        if target.out_of_hours is not None:
            text += f"; out of hours: {_part(target.out_of_hours)}"
        lines.append(text)
    lines.append("")
    lines.append("warnings at: " + ", ".join(f"{float(f) * 100:g} %" for f in policy.warn_at) + " of each target")
    if policy.escalations:  # a policy without them prints as before
        lines.append("")
        lines.extend(_escalations(policy))
    if policy.overrides:
        lines.append("")
        lines.append("overrides (first match wins):")
        for i, override in enumerate(policy.overrides, start=1):
            match = ", ".join(
                f"{key}={value}"
                for key, value in (("customer_id", override.customer_id), ("service_id", override.service_id), ("priority", override.priority))
                if value is not None
            )
            parts = [f"{p}: {_part(part)}" for p, part in override.targets.items()]
            parts += [f"escalations {p}: {_levels(levels)}" for p, levels in (override.escalations or {}).items()]
            lines.append(f"  {i}. {match} -> {'; '.join(parts)}")
    if policy.services:
        lines.append("")
        lines.append(f"services (error budget per calendar month; maintenance needs {format_duration(policy.min_notice_us)} notice):")
        for name, service in policy.services.items():
            start, end = period_of(service.timezone, at_us)
            budget = budget_us(service, end - start)
            lines.append(f"  {name}: {service.availability} % in {service.timezone.key}; "
                         f"{period_label(service.timezone, start)} allows {budget / 1e6:g} s of downtime")
    if policy.contracts:
        lines.append("")
        rules = policy.report
        lines.append(f"contracts (report of a month due on day {rules.due_day} of the next; improvement plan after "
                     f"{rules.improvement_after} failing months in a row, due {rules.improvement_days} days after):")
        for contract in policy.contracts.values():
            lines.extend(_contract(contract))
    return "\n".join(lines)


def _escalations(policy: Policy) -> list[str]:
    """Each priority's escalations after a breach (its own list, else ``default``), as the defaults apply them."""
    lines = ["escalations (business time past the target, in the clock's calendar):"]
    for priority in policy.priorities:
        levels = policy.escalations.get(priority)
        source = ""
        if levels is None:
            levels, source = policy.escalations.get("default", ()), " (default)"
        lines.append(f"  {priority}: {_levels(levels)}{source}")
    return lines


def _levels(levels: tuple[Escalation, ...]) -> str:
    if not levels:
        return "none"
    return ", ".join(f"{n}. after {format_duration(e.after_us)} to {e.to}" for n, e in enumerate(levels, start=1))


def _contract(contract: Contract) -> list[str]:
    money = f"{{}} {contract.currency}"
    lines = [f"  {contract.customer_id} ({contract.name}): {money.format(contract.monthly_fee)} a month; services "
             f"{', '.join(contract.services) or 'none'}"]
    kpis = [_kpi(name, target) for name, target in contract.kpis.items()]
    lines.append(f"    KPIs: {', '.join(kpis) or 'none'}")
    credits = [f"{priority} {rate} %" for priority, rate in contract.per_breach.items()]
    text = f"per breach {', '.join(credits)}" if credits else "no credit per breach"
    if contract.availability_credit is not None:
        text += f"; {contract.availability_credit} % per service below its availability target"
    cap = contract.cap_amount
    text += "; no cap" if cap is None else f"; cap {contract.cap} % ({money.format(cap.quantize(CENT))})"
    lines.append(f"    credits: {text}")
    return lines


def _kpi(name: str, target: Decimal | bool) -> str:
    if name == "availability":
        return "availability of every service on target"
    if name == "csat":
        return f"csat >= {target}"
    return f"{name.replace('_', ' ')} >= {target} %"


def _name_of(policy: Policy, calendar: BusinessCalendar) -> str:
    return next(name for name, c in policy.calendars.items() if c is calendar)


def _part(part: TargetPartDoc) -> str:
    bits = []
    if part.calendar:
        bits.append(f"calendar {part.calendar}")
    if part.response:
        bits.append(f"respond {format_duration(part.response)}")
    if part.resolution:
        bits.append(f"resolve {format_duration(part.resolution)}")
    ooh = getattr(part, "out_of_hours", None)
    if ooh is not None:
        bits.append(f"out of hours: {_part(ooh)}")
    return ", ".join(bits)


def _hours(calendar: BusinessCalendar) -> str:
    if calendar.always:
        return "24x7"
    groups: list[tuple[int, int, tuple[Interval, ...]]] = []
    for day, intervals in enumerate(calendar.weekly):
        if groups and groups[-1][2] == intervals and groups[-1][1] == day - 1:
            groups[-1] = (groups[-1][0], day, intervals)
        else:
            groups.append((day, day, intervals))
    text = "; ".join(
        f"{DAYS[a]}{'-' + DAYS[b] if b != a else ''} {','.join(f'{_hm(s)}-{_hm(e)}' for s, e in iv)}"
        for a, b, iv in groups
        if iv
    )
    if calendar.holidays:
        text += f"; {len(calendar.holidays)} holidays"
    if calendar.workdays:
        text += f"; {len(calendar.workdays)} extra workdays"
    return text


def _hm(seconds: int) -> str:
    text = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")
