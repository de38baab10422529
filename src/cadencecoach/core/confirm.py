"""What the live player says to confirm an action ("Paused", "Cadence 188", "Skipped. Recover. 3 of 10.")
and the status on demand ("Rep 3 of 10. 1 minute 10 left. Cadence 186."), as sentences of a small vocabulary.

Nothing a runner hears mid-run waits for the speech engine: :func:`vocabulary` lists every text these
sentences use for a timeline, the command line synthesizes them before the run (cached like every cue), and
the player joins the pieces (``speech.phrases.join_words``) when an action needs them. Everything here is
pure text.

Examples
--------
>>> from cadencecoach.core.edits import click_timeline
>>> tl = click_timeline(180, 1000, hours=1)
>>> status(tl, 5000, 182.0, "click")
[['Cadence', '182']]
>>> time_left(70.4)
['1', 'minute', '10', 'left']
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from cadencecoach.core.edits import cadence_bounds
from cadencecoach.core.timeline import TimedStep, Timeline

PAUSED = "Paused."
RESUMED = "Resumed."
SKIPPED = "Skipped."
BACK_TO = "Back to"
CADENCE = "Cadence"
REP = "Rep"
OF = "of"
LEFT = "left"
MINUTE, MINUTES, SECONDS = "minute", "minutes", "seconds"
HOUR, HOURS = "hour", "hours"
MORE_REST, LESS_REST = "More rest.", "Less rest."
LOUDER, QUIETER = "Louder.", "Quieter."
LOUDEST, QUIETEST = "Full volume.", "Lowest volume."
CLICK_ON, CLICK_OFF = "Click on.", "Click off."
VOICE_ON, VOICE_OFF = "Voice on.", "Voice off."
RESTORED = "Audio restored."
STARTING_IN = "Starting in"

FIXED = (
    PAUSED,
    RESUMED,
    SKIPPED,
    BACK_TO,
    CADENCE,
    REP,
    OF,
    LEFT,
    MINUTE,
    MINUTES,
    SECONDS,
    HOUR,
    HOURS,
    MORE_REST,
    LESS_REST,
    LOUDER,
    QUIETER,
    LOUDEST,
    QUIETEST,
    CLICK_ON,
    CLICK_OFF,
    VOICE_ON,
    VOICE_OFF,
    RESTORED,
    STARTING_IN,
)

CADENCE_MARGIN = 30  # cadences said: the timeline's range and this much around it (+/- keys move it)
SPOKEN_MAX = 300


def numbers(timeline: Timeline) -> list[int]:
    """The numbers the confirmations may say for `timeline`: 0-60 (seconds, minutes, hours, reps), its cadences
    and a margin around them, and its rep counts.

    Examples
    --------
    >>> from cadencecoach.core.edits import click_timeline
    >>> ns = numbers(click_timeline(180, 1000, hours=24))
    >>> ns[:3], ns[-1], 100 in ns, 150 in ns, 149 in ns, len(ns)
    ([0, 1, 2], 210, False, True, False, 122)
    """
    out = set(range(61))
    bounds = cadence_bounds(timeline)
    if bounds is not None:
        lo = max(int(bounds[0]) - CADENCE_MARGIN, 0)
        hi = min(math.ceil(bounds[1]) + CADENCE_MARGIN, SPOKEN_MAX)
        out.update(range(lo, hi + 1))
    for step in timeline.steps:
        if step.rep is not None:
            out.update(step.rep)
    return sorted(out)


def vocabulary(timeline: Timeline) -> list[str]:
    """Every text a confirmation may use during `timeline`: the fixed words, the steps' labels and the
    numbers (:func:`numbers`).

    Examples
    --------
    >>> from cadencecoach.core.edits import click_timeline
    >>> words = vocabulary(click_timeline(180, 1000, hours=1))
    >>> words[:2], "Metronome" in words, "180" in words
    (['Paused.', 'Resumed.'], True, True)
    """
    labels = dict.fromkeys(step.label for step in timeline.steps if step.label.strip())
    return list(dict.fromkeys([*FIXED, *labels, *(str(n) for n in numbers(timeline))]))


def time_left(seconds: float) -> list[str]:
    """``['1', 'minute', '10', 'left']``: over a minute to the nearest 5 s, under it to the second (to 5 s
    from 20 s up); from an hour on, hours and minutes (every number said is at most 60).

    Examples
    --------
    >>> time_left(125), time_left(59.6), time_left(8.2), time_left(0.3)
    (['2', 'minutes', '5', 'left'], ['1', 'minute', 'left'], ['8', 'seconds', 'left'], ['0', 'seconds', 'left'])
    >>> time_left(3600 + 125), time_left(7200)
    (['1', 'hour', '2', 'minutes', 'left'], ['2', 'hours', 'left'])
    """
    s = max(float(seconds), 0.0)
    whole = round(s / 5) * 5 if s >= 20 else round(s)
    if whole < 60:
        return [str(whole), SECONDS, LEFT]
    if whole >= 3600:
        h, m = divmod(whole // 60, 60)
        words = [str(h), HOUR if h == 1 else HOURS]
        if m:
            words += [str(m), MINUTE if m == 1 else MINUTES]
        return [*words, LEFT]
    m, rest = divmod(whole, 60)
    words = [str(m), MINUTE if m == 1 else MINUTES]
    if rest:
        words.append(str(rest))
    return [*words, LEFT]


def _step_sentence(step: TimedStep) -> list[str]:
    if step.rep is not None:
        return [REP, str(step.rep[0]), OF, str(step.rep[1])]
    return [step.label] if step.label.strip() else []


def status(timeline: Timeline, heard: int, cadence: float | None, mode: str) -> list[list[str]]:
    """The status on demand (``i``): the rep (or the step's name), the time left in it, the cadence.

    Parameters
    ----------
    timeline : Timeline
        The playing timeline.
    heard : int
        The sample being heard.
    cadence : float or None
        The click's tempo now (None: no click).
    mode : str
        ``run`` or ``click`` (the metronome says only its cadence).

    Returns
    -------
    list of list of str
        Sentences of vocabulary words (empty: nothing to say, e.g. after the end).
    """
    out: list[list[str]] = []
    if mode != "click":
        if heard < 0:
            return [[STARTING_IN, str(min(math.ceil(-heard / timeline.sample_rate), 60))]]
        step = timeline.step_at(heard)
        if step is None:
            return []
        head = _step_sentence(step)
        if head:
            out.append(head)
        out.append(time_left((step.end - heard) / timeline.sample_rate))
    if cadence is not None:
        out.append(cadence_words(cadence))
    return out


def cadence_words(cadence: float) -> list[str]:
    """``['Cadence', '188']``."""
    return [CADENCE, str(min(max(round(cadence), 0), SPOKEN_MAX))]


def said(sentences: Iterable[Iterable[str]]) -> str:
    """The text of `sentences`, as shown on the display: ``Rep 3 of 10. 1 minute 10 left.``

    Examples
    --------
    >>> said([["Rep", "3", "of", "10"], ["1", "minute", "left"], ["Paused."]])
    'Rep 3 of 10. 1 minute left. Paused.'
    """
    parts = []
    for sentence in sentences:
        text = " ".join(sentence).strip()
        if text:
            parts.append(text if text.endswith((".", "!", "?")) else text + ".")
    return " ".join(parts)
