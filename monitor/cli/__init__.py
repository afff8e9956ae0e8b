"""The commands: sla-monitor and its subcommands, the generators of schemas and of the settings reference."""
