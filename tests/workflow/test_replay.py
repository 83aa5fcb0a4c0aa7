from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propcrm.errors import ValidationError
from propcrm.model import TicketKind
from propcrm.testing.strategies import st_histories
from propcrm.workflow import Event, apply, replay, replay_many


@given(st_histories())
def test_replay_equals_folding_one_event_at_a_time(history: list[Event]) -> None:
    ticket = None
    for event in history:
        ticket = apply(ticket, event)
    assert replay(history) == ticket


@given(st_histories(), st_histories())
def test_replay_many_splits_a_stream_into_tickets(a: list[Event], b: list[Event]) -> None:
    b = [attrs.evolve(e, ticket_id="other-" + e.ticket_id) for e in b]
    assert list(replay_many(a + b)) == [replay(a), replay(b)]


@given(st_histories(kind=TicketKind.REPAIR), st.data())
def test_a_gap_or_repeat_in_the_history_is_refused(
    history: list[Event], data: st.DataObject
) -> None:
    if len(history) < 2:
        return
    drop = data.draw(st.integers(min_value=1, max_value=len(history) - 1))
    gapped = history[:drop] + history[drop + 1 :]
    if drop < len(history) - 1:
        with pytest.raises(ValidationError) as info:
            replay(gapped)
        assert info.value.paths == ("$.sequence",)
    with pytest.raises(ValidationError):
        replay([*history, history[-1]])


@given(st_histories())
def test_a_history_must_start_with_intake(history: list[Event]) -> None:
    with pytest.raises(ValidationError):
        replay(history[1:] or [attrs.evolve(history[0], sequence=2)])


def test_an_empty_history_has_no_ticket() -> None:
    with pytest.raises(ValidationError):
        replay([])


@given(st_histories(), st_histories())
def test_events_of_another_ticket_are_refused(a: list[Event], b: list[Event]) -> None:
    if len(b) < 2:
        return
    stranger = attrs.evolve(b[1], ticket_id="stranger", sequence=len(a) + 1)
    with pytest.raises(ValidationError) as info:
        apply(replay(a), stranger)
    assert info.value.paths == ("$.ticket_id",)
