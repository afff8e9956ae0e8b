"""sla-monitor: real-time SLA monitoring for service desks."""

__version__ = "0.1.0"
