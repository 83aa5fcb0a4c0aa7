"""Built-in plugin: supplies the standard taxonomy when no earlier plugin supplied one.

Marked ``trylast`` so that it runs first among taxonomy plugins; later plugins extend or
replace what it returns.
"""

from __future__ import annotations

from propcrm.plugins._markers import hookimpl
from propcrm.taxonomy import Taxonomy, standard

__all__ = ["propcrm_taxonomy"]


@hookimpl(trylast=True)
def propcrm_taxonomy(taxonomy: Taxonomy | None) -> Taxonomy | None:
    """The standard taxonomy, unless one is already supplied."""
    return standard() if taxonomy is None else None
