"""The pluggy markers of propcrm (private; re-exported by :mod:`propcrm.plugins`).

One name, ``propcrm``, serves the plugin manager, both markers and the entry-point group.
"""

from __future__ import annotations

import pluggy

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "hookimpl", "hookspec"]

#: The pluggy project name of propcrm.
PROJECT_NAME = "propcrm"

#: The entry-point group installed plugins declare themselves in.
ENTRY_POINT_GROUP = "propcrm"

#: Marks a function of :mod:`propcrm.plugins.hookspecs` as a hook specification.
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a plugin's function or method as an implementation of the hook of the same name.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
