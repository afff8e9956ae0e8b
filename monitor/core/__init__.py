"""The pure SLA engine: events, policy, calendars, clocks, budgets, replay and reports; no I/O, no wall clock."""
