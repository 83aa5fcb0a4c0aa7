"""Satisfaction surveys: definitions with questions and scales, and the responses to them.

The satisfaction **rate** (满意率) counts responses whose overall answer is satisfied or basically
satisfied; the satisfaction **index** (满意度指数) is a weighted 0–100 score over the questions.
Keep the two apart: they answer different questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from types import MappingProxyType

import attrs

from propcrm._validation import member_of, non_empty_str
from propcrm.errors import FieldError, ValidationError
from propcrm.model.enums import Channel, Satisfaction
from propcrm.model.org import OrgScope

__all__ = ["SurveyDefinition", "SurveyQuestion", "SurveyResponse"]


def _positive(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValidationError.single(f"$.{attribute.name}", f"must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class SurveyQuestion:
    """One question scored on an integer scale from ``low`` (worst) to ``high`` (best).

    Attributes:
        id: Stable id within the survey.
        text_zh: The question in Chinese.
        text_en: The question in English.
        low: The worst score.
        high: The best score.
        weight: Weight in the satisfaction index.
    """

    id: str = attrs.field(validator=non_empty_str)
    text_zh: str
    text_en: str
    low: int = 1
    high: int = 5
    weight: float = attrs.field(default=1.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if not self.low < self.high:
            raise ValidationError.single("$.high", f"scale {self.low}..{self.high} is empty")


def _questions(values: Iterable[SurveyQuestion]) -> tuple[SurveyQuestion, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class SurveyDefinition:
    """A survey: its questions and scales.

    Attributes:
        survey_id: Stable id, e.g. ``"annual-2026"``.
        name_zh: Chinese name.
        name_en: English name.
        questions: The questions, in order; ids must be unique.
    """

    survey_id: str = attrs.field(validator=non_empty_str)
    name_zh: str
    name_en: str
    questions: tuple[SurveyQuestion, ...] = attrs.field(converter=_questions)

    def __attrs_post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        if not ids:
            raise ValidationError.single("$.questions", "a survey needs at least one question")
        errors = [
            FieldError(path=f"$.questions[{i}].id", message=f"duplicate question id {qid!r}")
            for i, qid in enumerate(ids)
            if ids.index(qid) != i
        ]
        if errors:
            raise ValidationError(errors, subject=f"survey {self.survey_id!r}")

    def check(self, response: SurveyResponse) -> None:
        """Raise ``ValidationError`` naming every score that is not a question or off its scale."""
        by_id = {q.id: q for q in self.questions}
        errors = []
        if response.survey_id != self.survey_id:
            errors.append(
                FieldError(path="$.survey_id", message=f"not a response to {self.survey_id!r}")
            )
        for qid, score in response.scores.items():
            question = by_id.get(qid)
            if question is None:
                errors.append(FieldError(path=f"$.scores.{qid}", message="no such question"))
            elif not question.low <= score <= question.high:
                errors.append(
                    FieldError(
                        path=f"$.scores.{qid}",
                        message=f"{score} is off the scale {question.low}..{question.high}",
                    )
                )
        if errors:
            raise ValidationError(errors, subject=f"response {response.response_id!r}")

    def index(self, response: SurveyResponse) -> float | None:
        """The response's satisfaction index, 0–100.

        The weighted mean of its scores, each scaled to 0–100 on its question's scale;
        ``None`` when no question was answered.
        """
        self.check(response)
        total = weights = 0.0
        for question in self.questions:
            score = response.scores.get(question.id)
            if score is None:
                continue
            total += question.weight * (score - question.low) / (question.high - question.low)
            weights += question.weight
        return None if weights == 0 else 100.0 * total / weights


def _scores(value: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(value))


def _score_values(
    _instance: object, _attribute: attrs.Attribute[Mapping[str, int]], value: Mapping[str, int]
) -> None:
    for qid, score in value.items():
        if not isinstance(score, int) or isinstance(score, bool):
            raise ValidationError.single(f"$.scores.{qid}", f"a score is an integer, got {score!r}")


@attrs.frozen(kw_only=True)
class SurveyResponse:
    """One respondent's answers to a survey.

    Attributes:
        response_id: Stable id.
        survey_id: The survey answered.
        respondent_id: The customer who answered.
        scope: Where the respondent lives (tenant and project).
        answered_on: The day of the answer.
        scores: Question id → integer score.
        overall: The overall answer on the five-level scale, when asked.
        channel: How the survey was taken.
    """

    response_id: str = attrs.field(validator=non_empty_str)
    survey_id: str = attrs.field(validator=non_empty_str)
    respondent_id: str = attrs.field(validator=non_empty_str)
    scope: OrgScope
    answered_on: date
    scores: Mapping[str, int] = attrs.field(
        factory=dict, converter=_scores, validator=_score_values
    )
    overall: Satisfaction | None = None
    channel: Channel = attrs.field(default=Channel.REVISIT, validator=member_of(Channel))

    @property
    def is_satisfied(self) -> bool | None:
        """Whether the overall answer counts towards the satisfaction rate (None: not asked)."""
        return None if self.overall is None else self.overall.is_satisfied
