"""Tests of the ``propcrm`` command line (kpi, rfm, sla)."""
