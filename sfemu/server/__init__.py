"""sfemu's HTTPS face: REST data API, OAuth, identity and SOAP login over Starlette."""

from sfemu.server.app import create_app
from sfemu.server.state import ServerConfig, ServerState

__all__ = ["ServerConfig", "ServerState", "create_app"]
