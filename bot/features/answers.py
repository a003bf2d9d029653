"""Knowledge outcomes as replies in the person's language (used by the ask feature)."""

from __future__ import annotations

from dataclasses import replace

from bot.core.payloads import encode
from bot.core.types import Button, Location, Reply
from bot.i18n import N_, Translator
from bot.knowledge.model import FACETS, Ambiguous, Answer, NoMatch, Topic
from bot.knowledge.service import KnowledgeService

TOPIC = "topic"  # press kind: topic:v1:<id>[:<facet>]
MENU = "menu"  # press kind: menu:v1:<kind>
FACET_LABELS = {
    "getting_there": N_("Getting there"),
    "hours": N_("Opening hours"),
    "interview_angles": N_("Interview angles"),
    "filming": N_("Filming"),
    "how_to_join": N_("How to take part"),
    "contact": N_("Contact"),
    "visit_time": N_("Time to allow"),
    "accessibility": N_("Accessibility"),
}
KIND_LABELS = {
    "route": N_("Interview routes"),
    "event": N_("Events and programmes"),
    "faq": N_("Practical help"),
}
OVERVIEW_LABEL = N_("Overview")
# A no-match whose question was mostly facet words ("and the opening hours?") asks which
# place; one with other unknown words ("how do I get to Paris") is out of scope.
FACET_ONLY_COVERAGE = 0.5


def facet_label(facet: str, t: Translator) -> str:
    return t.gettext(FACET_LABELS[facet])


def answer_reply(topic: Topic, facet: str | None, asked: str | None, t: Translator) -> Reply:
    """A topic's overview or facet, with buttons for its other facets."""
    lines = [topic.name(t.lang), ""]
    if asked and asked != facet:
        lines += [
            t.gettext("I have no details on “%(facet)s” for this topic yet. Here is what I know:")
            % {"facet": facet_label(asked, t)},
            "",
        ]
    lines.append(topic.text(t.lang, facet))
    buttons = [
        Button(facet_label(name, t), encode(TOPIC, topic.id, name))
        for name in FACETS
        if name in topic.facets and name != facet
    ]
    if facet:
        buttons.insert(0, Button(t.gettext(OVERVIEW_LABEL), encode(TOPIC, topic.id)))
    return Reply("\n".join(lines), t.lang, tuple(buttons), _location(topic, facet, t))


def _location(topic: Topic, facet: str | None, t: Translator) -> Location | None:
    """A map pin with the directions to a place that has coordinates."""
    where = topic.location
    if facet != "getting_there" or where is None or where.lat is None or where.lon is None:
        return None
    address = where.address.get(t.lang) or where.address["en"]
    return Location(where.lat, where.lon, topic.name(t.lang), address)


def ambiguous_reply(outcome: Ambiguous, knowledge: KnowledgeService, t: Translator) -> Reply:
    buttons = []
    for topic_id in outcome.candidates:
        topic = knowledge.topic(topic_id)
        if topic is not None:
            facet = outcome.facet if outcome.facet in topic.facets else None
            buttons.append(Button(topic.name(t.lang), encode(TOPIC, topic_id, facet)))
    return Reply(t.gettext("Did you mean:"), t.lang, tuple(buttons))


def which_place_reply(facet: str, knowledge: KnowledgeService, t: Translator) -> Reply:
    """A facet asked with no place named and nothing to follow up on: offer the places."""
    text = t.gettext("Which place do you mean? (%(facet)s)") % {"facet": facet_label(facet, t)}
    buttons = tuple(
        Button(topic.name(t.lang), encode(TOPIC, topic.id, facet))
        for topic in knowledge.topics()
        if facet in topic.facets
    )
    return Reply(text, t.lang, buttons) if buttons else no_match_reply(t)


def no_match_reply(t: Translator) -> Reply:
    text = t.gettext("Sorry, I can't help with that. I can answer questions about these topics:")
    return Reply(text, t.lang, menu_buttons(t))


def menu_buttons(t: Translator) -> tuple[Button, ...]:
    return tuple(
        Button(t.gettext(label), encode(MENU, kind)) for kind, label in KIND_LABELS.items()
    )


def kind_menu_reply(kind: str, knowledge: KnowledgeService, t: Translator) -> Reply:
    """The topics of one kind, as buttons."""
    label = KIND_LABELS.get(kind)
    if label is None:
        return no_match_reply(t)
    buttons = tuple(
        Button(topic.name(t.lang), encode(TOPIC, topic.id)) for topic in knowledge.topics(kind)
    )
    return Reply(t.gettext(label) + ":", t.lang, buttons)


def outcome_reply(
    outcome: Answer | Ambiguous | NoMatch, knowledge: KnowledgeService, t: Translator
) -> Reply:
    """The reply to one outcome of the knowledge base."""
    if isinstance(outcome, Answer):
        topic = knowledge.topic(outcome.topic_id)
        assert topic is not None  # the index only answers with its own topics
        reply = answer_reply(topic, outcome.facet, outcome.asked, t)
        return with_buttons(reply, _also_buttons(outcome.also, knowledge, t))
    if isinstance(outcome, Ambiguous):
        return ambiguous_reply(outcome, knowledge, t)
    if outcome.confusable is not None:
        return confusable_reply(outcome.confusable, knowledge, t)
    if outcome.facet is not None and outcome.confidence >= FACET_ONLY_COVERAGE:
        return which_place_reply(outcome.facet, knowledge, t)
    return no_match_reply(t)


def confusable_reply(topic_id: str, knowledge: KnowledgeService, t: Translator) -> Reply:
    """About a namesake elsewhere ("Wuzhou in Guangxi"): say so, and offer ours."""
    topic = knowledge.topic(topic_id)
    if topic is None:
        return no_match_reply(t)
    text = t.gettext(
        "That sounds like another place with a similar name, which I cannot help with. "
        "The place in Jinhua I know is %(topic)s."
    ) % {"topic": topic.name(t.lang)}
    return Reply(text, t.lang, (Button(topic.name(t.lang), encode(TOPIC, topic.id)),))


def _also_buttons(
    topic_ids: tuple[str, ...], knowledge: KnowledgeService, t: Translator
) -> tuple[Button, ...]:
    """The other topics a two-part question asked about, one button each."""
    found = (knowledge.topic(i) for i in topic_ids)
    return tuple(Button(x.name(t.lang), encode(TOPIC, x.id)) for x in found if x is not None)


def with_buttons(reply: Reply, extra: tuple[Button, ...]) -> Reply:
    """The reply with more buttons after its own."""
    return replace(reply, buttons=reply.buttons + extra) if extra else reply
