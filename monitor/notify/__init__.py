"""sla-monitor notify: alerts from the output topics to Alertmanager (a shell beside the worker)."""
