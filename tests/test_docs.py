"""Documents generated from code must match the code."""

from __future__ import annotations

from pathlib import Path

from propcrm.workflow import LifecycleRules
from propcrm.workflow.diagram import update_document

ROOT = Path(__file__).resolve().parents[1]


def test_lifecycle_doc_matches_the_default_rules() -> None:
    path = ROOT / "docs" / "lifecycle.md"
    text = path.read_text(encoding="utf-8")
    assert update_document(text, LifecycleRules.default()) == text, (
        "docs/lifecycle.md drifted from the rules; run: python -m propcrm.workflow.diagram "
        "docs/lifecycle.md"
    )


def test_doc_check_notices_a_changed_rule() -> None:
    text = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    from propcrm.model import TicketKind, TicketStatus

    changed = LifecycleRules.default().forbid(TicketKind.REPAIR, [TicketStatus.RECEIVED], "void")
    assert update_document(text, changed) != text
