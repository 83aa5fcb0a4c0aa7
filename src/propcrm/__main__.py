"""``python -m propcrm``: the same as the ``propcrm`` command."""

from propcrm.cli import main

raise SystemExit(main())
