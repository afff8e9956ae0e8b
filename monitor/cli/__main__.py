"""``python -m monitor.cli``: the same as the ``sla-monitor`` command."""

import sys

from monitor.cli.main import main

sys.exit(main())
