"""devhost: a local development host for Azure Functions (Python v1 model + Durable Functions).

Not a production server. ``python -m devhost --help`` for the command line; in-process use
goes through :class:`devhost.host.DevHost` (also named ``create_host``).
"""

from devhost.config import StartupError
from devhost.host import DevHost, create_host

__all__ = ["DevHost", "StartupError", "create_host"]
