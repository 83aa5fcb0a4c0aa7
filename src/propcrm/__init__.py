"""propcrm: the customer-service loop of Chinese real-estate developers, as a Python SDK."""

from __future__ import annotations

from propcrm import errors

__all__ = ["__version__", "errors"]

__version__ = "0.1.0.dev0"
