"""The worker's Faust app, serving only sla-monitor's own web pages.

Faust registers built-in blueprints on its web server: ``/table/<name>/<key>/``
(any table's stored value: a ticket's customer, service and event ids),
``/router/…`` (cluster topology), ``/`` and, in debug mode, ``/graph`` and
statistics. None of them has authentication, and the web port is bound to all
interfaces by default (a container needs it for probes and scraping). The
classes here keep every built-in blueprint from being registered, so the port
serves the pages the worker adds itself (``/health/*``, ``/metrics``,
``/stats``) and 404 for every other path.

Faust's router is only used by ``@app.table_route`` / ``@app.topic_route``
views, which forward a request to the worker owning a key; sla-monitor has none
(every web page reads only this worker's own partitions), so nothing depends on
``/router``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import faust
from faust.web import Web
from faust.web.drivers.aiohttp import Web as AiohttpWeb

#: Faust settings that turn off the built-in pages that have a switch, in case the
#: web driver is ever swapped for one that does not drop them all.
NO_BUILTIN_PAGES: dict[str, Any] = {
    "web_router_enabled": False,
    "web_tables_enabled": False,
    "web_stats_enabled": False,
    "web_graph_enabled": False,
    "web_metrics_enabled": False,
}


class OwnPagesWeb(AiohttpWeb):
    """Faust's aiohttp web server with none of Faust's own blueprints."""

    default_blueprints: ClassVar[tuple[()]] = ()
    production_blueprints: ClassVar[tuple[()]] = ()
    debug_blueprints: ClassVar[tuple[()]] = ()
    optional_blueprints: ClassVar[tuple[()]] = ()


class App(faust.App):
    """faust.App whose web server serves only the pages added with ``app.page``."""

    def _new_web(self) -> Web:
        return OwnPagesWeb(self)
