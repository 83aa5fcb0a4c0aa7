"""Draw lifecycle rules: a Mermaid state diagram per ticket kind and a rules table.

``docs/lifecycle.md`` holds the output for the default rules between generated-section markers;
a test fails when the document drifts from the rules. Regenerate it with::

    python -m propcrm.workflow.diagram docs/lifecycle.md
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from propcrm.model.enums import Role, TicketKind, TicketStatus
from propcrm.workflow.rules import LifecycleRules, StatusChange

__all__ = ["BEGIN_MARKER", "END_MARKER", "mermaid", "render_markdown", "update_document"]

#: The line that opens the generated section of a Markdown document.
BEGIN_MARKER = "<!-- BEGIN GENERATED: python -m propcrm.workflow.diagram -->"
#: The line that closes the generated section of a Markdown document.
END_MARKER = "<!-- END GENERATED -->"


def _guards(rules: LifecycleRules, kind: TicketKind, command: str) -> str:
    notes = []
    if command == "close":
        if kind in rules.response_before_close_kinds:
            notes.append("responded")
        if kind in rules.revisit_before_close_kinds:
            notes.append("revisited")
    if command == "reopen":
        notes.append(f"within {rules.reopen_window.days} d")
    return f" [{', '.join(notes)}]" if notes else ""


_WAY_IN = {"resume": "pause", "reject_abnormal_close": "request_abnormal_close"}


def _left_from(rules: LifecycleRules, kind: TicketKind, command: str) -> list[TicketStatus]:
    """The statuses a ticket can return to with ``command`` (those the way in starts from)."""
    way_in = _WAY_IN[command]
    return [status for status in TicketStatus if rules.allows(kind, status, way_in)]


def mermaid(rules: LifecycleRules, kind: TicketKind) -> str:
    """A Mermaid ``stateDiagram-v2`` of the moves ``rules`` allow for ``kind``.

    Commands that keep the status (notes, escalation, classification) are listed per state
    rather than drawn as loops, to keep the picture readable.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {TicketStatus.RECEIVED.value}: receive"]
    stays: dict[TicketStatus, list[str]] = {}
    for move in rules.transitions(kind):
        label = move.command + _guards(rules, kind, move.command)
        if move.target is StatusChange.SAME:
            stays.setdefault(move.source, []).append(move.command)
        elif move.target is StatusChange.PREVIOUS:
            # Draw the way back to every status the ticket could have left from.
            for back in _left_from(rules, kind, move.command):
                lines.append(f"    {move.source.value} --> {back.value}: {label} (back)")
        else:
            lines.append(f"    {move.source.value} --> {move.target.value}: {label}")
    if kind in rules.auto_reopen_kinds:
        for source in (TicketStatus.COMPLETED, TicketStatus.CLOSED):
            if rules.allows(kind, source, "record_revisit"):
                lines.append(
                    f"    {source.value} --> {TicketStatus.REOPENED.value}: "
                    "record_revisit (unsatisfied, automatic)"
                )
    if any(move.command == "approve_abnormal_close" for move in rules.transitions(kind)):
        lines.append(
            f"    {TicketStatus.PENDING_ABNORMAL_CLOSE.value} --> {TicketStatus.CLOSED.value}: "
            "approve_abnormal_close (last approver)"
        )
    for terminal in (TicketStatus.VOIDED, TicketStatus.MERGED):
        if any(move.target is terminal for move in rules.transitions(kind)):
            lines.append(f"    {terminal.value} --> [*]")
    for status, commands in stays.items():
        lines.append(f"    note right of {status.value}: also {', '.join(commands)}")
    return "\n".join(lines)


def render_markdown(rules: LifecycleRules) -> str:
    """The generated part of ``docs/lifecycle.md``: diagrams, the rules table and permissions."""
    out: list[str] = []
    for kind in TicketKind:
        out += [f"### {kind.label_en} ({kind.label_zh}, `{kind.value}`)", ""]
        out += ["```mermaid", mermaid(rules, kind), "```", ""]
        out += ["| status | allowed commands |", "|---|---|"]
        for status in TicketStatus:
            commands = sorted(rules.commands_for(kind, status))
            if commands:
                out.append(f"| `{status.value}` | {', '.join(commands)} |")
        out.append("")
    out += ["### Who may issue what", "", "| role | commands |", "|---|---|"]
    for role in Role:
        out.append(f"| `{role.value}` | {', '.join(sorted(rules.permissions.get(role, ())))} |")
    out += [
        "",
        "### Other rules",
        "",
        f"- Reopen window: {rules.reopen_window}.",
        "- Reopen automatically after an unsatisfied revisit: "
        + ", ".join(sorted(k.value for k in rules.auto_reopen_kinds))
        + ".",
        "- Revisit needed before close: "
        + ", ".join(sorted(k.value for k in rules.revisit_before_close_kinds))
        + ".",
        "- Response needed before close: "
        + ", ".join(sorted(k.value for k in rules.response_before_close_kinds))
        + ".",
        "- Abnormal-close approvers: " + ", ".join(sorted(rules.abnormal_close_approvers)) + ".",
    ]
    return "\n".join(out)


def update_document(text: str, rules: LifecycleRules) -> str:
    """Replace the generated section of a Markdown document with the current rules."""
    start = text.index(BEGIN_MARKER) + len(BEGIN_MARKER)
    end = text.index(END_MARKER)
    return text[:start] + "\n\n" + render_markdown(rules) + "\n\n" + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated section of the Markdown file named on the command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m propcrm.workflow.diagram PATH.md", file=sys.stderr)
        return 2
    path = Path(args[0])
    path.write_text(update_document(path.read_text(encoding="utf-8"), LifecycleRules.default()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
