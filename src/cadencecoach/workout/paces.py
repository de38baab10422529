"""The one pace book: every pace a workout can name, and where each comes from.

A pace name is resolved, for the YAML loader and the importers alike, from (strongest first):

1. a pace override (``--pace NAME=VALUE`` on the command line), which wins over everything;
2. a pace written in the workout (``paces: {mile: 5:45/mi}``), or an alias of another name (``jog: easy``);
3. the paces derived from a time trial (Daniels' VDOT, :data:`DERIVED_PACES`: ``mile``, ``5k``, ..., ``easy``,
   ``marathon-training``, ``threshold``, ...): the trial override (``--trial``), the workout's ``trial:``, or,
   when neither gives one and a derived pace is needed, the default trial (the latest recorded one).

Every pace, however it is given (written, overridden, derived, relative, imported), is held to the same
bounds here, :func:`check_pace`: from :data:`FASTEST_PACE_S_PER_KM` (1:30/km, faster than the 100 m world
record) to :data:`SLOWEST_PACE_S_PER_KM` (60:00/km, 1 km/h); a pace relative to a reference (``80% Pace``,
Zwift's ``Power``) is :data:`RELATIVE_RANGE` (10% to 300%) of its speed.

What the loader is given travels as one :class:`LoadOptions`. This layer knows nothing of command-line flags: a
bad override is a :class:`PaceOverrideError` or a :class:`TrialError` (both ``ValueError``), and the caller that
knows where the value came from (:func:`cadencecoach.pipeline.load`) names the option.

Examples
--------
>>> book = PaceBook(LoadOptions(pace_overrides={"threshold": "4:10/km"}))
>>> name, pace = book.relative("threshold", Fraction(9, 10))
>>> name, pace.text
('90% threshold', '4:37.78/km')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from cadencecoach.workout import vdot as vdot_mod
from cadencecoach.workout.source import did_you_mean
from cadencecoach.workout.units import Pace, parse_clock, parse_pace, parse_trial

DERIVED_PACES = vdot_mod.DERIVED_NAMES
"""The names a time trial gives a pace to: the race equivalents ``mile`` ... ``marathon``, then the training paces
``easy`` (the middle of Daniels' easy range), ``easy-fast`` and ``easy-slow`` (its ends), ``marathon-training``
(Daniels' M), ``threshold``, ``interval`` and ``repetition`` (:data:`cadencecoach.workout.vdot.DERIVED_NAMES`)."""

VDOT_RANGE = (10, 100)
"""A trial whose VDOT is outside this range is no runner's (a typo, or the wrong unit)."""

PACE_STEP_S_PER_KM = Fraction(1, 100)
"""Imported paces are rounded to 0.01 s per km, so that the YAML written from them (``M:SS.ss/km``) is exact."""

FASTEST_PACE_S_PER_KM = 90
"""1:30/km: faster than the 100 m world record (9.58 s, 1:36/km), so a typo or the wrong unit, never a runner's."""

SLOWEST_PACE_S_PER_KM = 3600
"""60:00/km (1 km/h): slower than any walk."""

RELATIVE_RANGE = (Fraction(1, 10), Fraction(3))
"""A pace relative to a reference is 10% to 300% of its speed (real files: 20% to 130%)."""

DefaultTrial = str | Callable[[], str | None] | None
"""A trial to fall back on (e.g. the latest recorded one), or a function that finds it when needed."""

Trial = tuple[Fraction, Fraction]
"""A time trial: (metres, seconds)."""

Position = tuple[int, int]
AddProblem = Callable[[Position, str], None]


@dataclass(frozen=True)
class LoadOptions:
    """How a workout's paces are resolved: what the loader and every importer are given besides the text.

    Parameters
    ----------
    pace_overrides
        ``NAME -> pace text`` (``{"mile": "5:45/mi"}``); wins over the workout's own paces.
    trial_override
        A trial (``"5k 20:00"``) that replaces the workout's ``trial:``.
    default_trial
        A trial used only when a derived pace is needed and nothing else gives a trial (a callable is called
        only then); the workout's ``trial_source`` is then ``"history"``.

    Examples
    --------
    >>> LoadOptions(trial_override="1mi 6:00").trial_override
    '1mi 6:00'
    """

    pace_overrides: Mapping[str, str] = field(default_factory=dict)
    trial_override: str | None = None
    default_trial: DefaultTrial = None


class PaceOverrideError(ValueError):
    """A pace override that is not a pace; ``name``, ``value`` and ``reason`` let the caller name its option."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        self.name, self.value, self.reason = name, value, reason
        super().__init__(f"{name}={value}: {reason}")


class TrialError(ValueError):
    """A trial override (or, for an importer, a recorded trial) that cannot be used; the message says why."""


def check_pace(pace: Pace, what: str | None = None) -> Pace:
    """`pace` when a runner could keep it (:data:`FASTEST_PACE_S_PER_KM` to :data:`SLOWEST_PACE_S_PER_KM`),
    else ValueError naming it as `what` (default ``pace 'TEXT'``).

    Examples
    --------
    >>> check_pace(parse_pace("4:30/km")).text
    '4:30/km'
    >>> check_pace(parse_pace("0:00.000001/km"))
    Traceback (most recent call last):
    ...
    ValueError: pace '0:00.000001/km' is faster than 1:30/km, which no runner is (the 100 m world record is 1:36/km)
    """
    s_per_km = pace.s_per_m * 1000
    subject = what or f"pace '{pace.text}'"
    if s_per_km < FASTEST_PACE_S_PER_KM:
        raise ValueError(
            f"{subject} is faster than {_minutes(FASTEST_PACE_S_PER_KM)}/km, which no runner is "
            "(the 100 m world record is 1:36/km)"
        )
    if s_per_km > SLOWEST_PACE_S_PER_KM:
        raise ValueError(f"{subject} is slower than {_minutes(SLOWEST_PACE_S_PER_KM)}/km, which is not even walking")
    return pace


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def parse_checked_pace(text: str) -> Pace:
    """A written pace (:func:`~cadencecoach.workout.units.parse_pace`) within the bounds (:func:`check_pace`)."""
    return check_pace(parse_pace(text))


def parse_overrides(overrides: Mapping[str, str]) -> dict[str, Pace]:
    """Pace overrides as paces; raises :class:`PaceOverrideError` for the first that is not one."""
    out: dict[str, Pace] = {}
    for name, value in overrides.items():
        try:
            out[name] = check_pace(parse_pace(value), "the pace")
        except ValueError as exc:
            raise PaceOverrideError(name, value, str(exc)) from None
    return out


def derived_table(vdot_value: float) -> dict[str, Pace]:
    """The paces a VDOT gives, by name (``mile``, ``5k``, ..., ``threshold``), each texted ``"NAME pace"``."""
    return {
        name: Pace(Fraction(s_per_km).limit_denominator(10**9) / 1000, f"{name} pace")
        for name, s_per_km in vdot_mod.derived_paces(vdot_value).items()
    }


def trial_vdot(trial: Trial) -> float:
    """The VDOT of a trial; NaN for a time too long for a float (which is then out of range)."""
    try:
        return vdot_mod.vdot(float(trial[0]), float(trial[1]))
    except (OverflowError, ValueError):
        return float("nan")


def vdot_in_range(value: float) -> bool:
    return VDOT_RANGE[0] <= value <= VDOT_RANGE[1]


def vdot_range_message(raw: str, value: float) -> str:
    low, high = VDOT_RANGE
    return f"trial '{raw}' gives a VDOT of {value:.1f}, outside any runner's range ({low}-{high})"


def round_pace(s_per_m: Fraction) -> Fraction:
    """Seconds per metre rounded to 0.01 s per km."""
    step = PACE_STEP_S_PER_KM / 1000
    return Fraction(round(s_per_m / step)) * step


def round_percent(fraction: Fraction) -> Fraction:
    """A fraction rounded to 0.1 percent (Zwift writes 0.75449997)."""
    return Fraction(round(fraction * 1000), 1000)


def decimal_text(x: Fraction) -> str:
    """A terminating Fraction as a plain decimal (``400``, ``0.75``, ``62.5``); ValueError if it does not end.

    Examples
    --------
    >>> decimal_text(Fraction(125, 2)), decimal_text(Fraction(3, 4)), decimal_text(Fraction(400))
    ('62.5', '0.75', '400')
    """
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        raise ValueError(f"{x} is not a terminating decimal")
    places = max(twos, fives)
    sign = "-" if x < 0 else ""
    scaled = abs(x) * 10**places
    whole, frac = divmod(int(scaled), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}".rstrip("0").rstrip(".")


def percent_text(fraction: Fraction) -> str:
    """``Fraction(17, 20)`` -> ``85%``; percentages are rounded to 0.1."""
    return decimal_text(round_percent(fraction) * 100) + "%"


def km_text(s_per_m: Fraction) -> str:
    """``M:SS/km`` (with decimals on the seconds when needed); exact for paces from :func:`round_pace`."""
    s_per_km = s_per_m * 1000
    minutes, seconds = divmod(s_per_km, 60)
    whole = int(seconds)
    rest = decimal_text(seconds - whole)
    frac = rest[1:] if rest.startswith("0.") else ""
    return f"{int(minutes)}:{whole:02d}{frac}/km"


def literal_pace(s_per_m: Fraction) -> Pace:
    """A pace given as a number (an import's ``3:50/km``, a range's middle), rounded and texted per km."""
    rounded = round_pace(s_per_m)
    return Pace(rounded, km_text(rounded))


def middle_pace(a: Pace, b: Pace) -> Pace:
    """The pace a range is spoken and timed at: the mean of its ends' seconds per metre, rounded to 0.01 s/km
    (:func:`literal_pace`). One rule for the YAML's ``pace: 7:15-7:00/km``, intervals.icu and FIT ranges, so a
    range written by ``convert`` reads back to the same middle."""
    return literal_pace((a.s_per_m + b.s_per_m) / 2)


def pace_range(text: str) -> tuple[Pace, tuple[Pace, Pace]]:
    """``7:15-7:00/km`` (or ``7:15/km-7:00/km``): the middle pace (the mean of the two ends' seconds per metre,
    :func:`literal_pace`, as an intervals.icu range is read) and the ends (slower, faster), each as written.

    Examples
    --------
    >>> middle, (slow, fast) = pace_range("7:15-7:00/km")
    >>> middle.text, slow.text, fast.text
    ('7:07.5/km', '7:15/km', '7:00/km')
    """
    first, sep, second = text.partition("-")
    if not sep or not first.strip() or not second.strip() or second.strip().startswith("/"):
        raise ValueError(f"pace range '{text}' is like '7:15-7:00/km'")
    unit = second[second.index("/") :] if "/" in second else ""
    a = first.strip() if "/" in first else first.strip() + unit
    ends = sorted((parse_checked_pace(a), parse_checked_pace(second.strip())), key=lambda p: -p.s_per_m)
    middle = check_pace(middle_pace(*ends), f"the middle of pace range '{text}'")
    return middle, (ends[0], ends[1])


class PaceBook:
    """The paces one workout can use, and how each name was resolved.

    The YAML loader fills it in the file's order: :meth:`set_trial` (the trial chosen, which derives its paces),
    :meth:`define` (each written pace), :meth:`apply_overrides`, then :meth:`resolve_aliases`; ``paces`` is then
    every name available. An importer asks for references (:meth:`reference`, :meth:`named`, :meth:`relative`);
    ``used`` is then the names its steps use. Either way ``trial``, ``trial_source`` and ``vdot`` say where the
    derived paces came from.
    """

    def __init__(self, options: LoadOptions | None = None) -> None:
        self.options = options or LoadOptions()
        self.paces: dict[str, Pace] = {}  # every name available (the YAML loader's view)
        self.used: dict[str, Pace] = {}  # the names an import's steps use
        self.trial: Trial | None = None
        self.trial_source: str | None = None
        self.vdot: float | None = None
        self.derived: dict[str, Pace] = {}
        self.failed_aliases: set[str] = set()  # aliases that got no value (reported where they are written)
        self.needs_trial = False  # a derived pace was named with no trial to derive it from
        self._overrides: dict[str, Pace] | None = None
        self._default_trial = self.options.default_trial

    # ------------------------------------------------------------------ sources
    @property
    def overrides(self) -> dict[str, Pace]:
        """The pace overrides, parsed on first use (:class:`PaceOverrideError` if one is not a pace)."""
        if self._overrides is None:
            self._overrides = parse_overrides(self.options.pace_overrides)
        return self._overrides

    def set_trial(self, trial: Trial, source: str, vdot_value: float) -> None:
        """Use `trial` (from `source`: ``"--trial"``, ``"workout"``, ``"history"``): its paces become available."""
        self.trial, self.trial_source, self.vdot = trial, source, vdot_value
        self.derived = derived_table(vdot_value)
        self.paces.update(self.derived)

    def use_trial(self, raw: str, source: str) -> None:
        """Parse and use a trial; :class:`TrialError` when it is no trial or no runner's (an import's rule)."""
        try:
            trial = parse_trial(raw)
            v = vdot_mod.vdot(float(trial[0]), float(trial[1]))
        except (ValueError, OverflowError) as exc:
            raise TrialError(str(exc)) from None
        if not vdot_in_range(v):
            raise TrialError(vdot_range_message(raw, v))
        self.set_trial(trial, source, v)

    # ------------------------------------------------------------------ written paces (the YAML loader)
    def define(self, name: str, value: str) -> None:
        """A pace written in the workout (ValueError, with the reason, if it is not a pace or no runner's)."""
        self.paces[name] = parse_checked_pace(value)

    def apply_overrides(self) -> None:
        """The overrides, over everything defined so far (so aliases resolved next follow them)."""
        self.paces.update(self.overrides)

    def resolve_aliases(self, aliases: list[tuple[str, str, Position]], add: AddProblem) -> None:
        """Give each alias (``name``, ``target``, position) its target's pace; `add` gets each problem.

        An overridden alias is no alias any more. An alias may name another alias, above or below it: each
        chain is followed once (linear in the number of aliases, however they are ordered), memoising whether
        it ended on a value; a circle, or a chain that ends on an unknown name, is reported once.
        """
        pending = {pname: (target, pos) for pname, target, pos in aliases if pname not in self.options.pace_overrides}
        settled: dict[str, bool] = {}
        for start in pending:
            chain: list[str] = []
            on_chain: set[str] = set()
            name = start
            while name in pending and name not in settled and name not in on_chain:
                on_chain.add(name)
                chain.append(name)
                name = pending[name][0]
            if name in on_chain:  # the chain closed on itself
                _, pos = pending[chain[-1]]
                add(
                    pos,
                    f"pace '{chain[-1]}' is an alias of '{name}', and the aliases go round in a circle: give one of "
                    "them a pace like '5:45/mi'",
                )
                ok = False
            elif settled.get(name, name in self.paces and name not in pending):
                for alias in chain:
                    self.paces[alias] = self.paces[name]
                ok = True
            else:
                if name not in settled:  # an unknown name (an alias that failed was reported already)
                    add(pending[chain[-1]][1], self.unknown_message(name))
                ok = False
            for alias in chain:
                settled[alias] = ok
            if not ok:
                self.failed_aliases.update(chain)

    def unknown_message(self, pname: str) -> str:
        """Why `pname` has no pace: it needs a unit, it needs a trial, or it is unknown (with a suggestion)."""
        if parse_clock(pname) is not None:
            return f"pace '{pname}' needs a unit: write '{pname}/km', '{pname}/mi' or '{pname}/400m'"
        if pname in DERIVED_PACES and self.vdot is None:
            self.needs_trial = True
            return (
                f"pace '{pname}' is derived from a time trial: add 'trial: 1mi 6:00' (your result) to the workout, "
                f"pass --trial, or define '{pname}' under 'paces:'"
            )
        names = sorted(set(self.paces) | set(DERIVED_PACES))
        return f"unknown pace '{pname}'{did_you_mean(pname, names)}"

    # ------------------------------------------------------------------ references (the importers)
    def reference(self, name: str) -> Fraction | None:
        """Seconds per metre of a reference pace name, or None when nothing gives it."""
        if name in self.overrides:
            return self.overrides[name].s_per_m
        if name not in self.derived and self.trial is None and self._default_trial is not None:
            raw = self._default_trial() if callable(self._default_trial) else self._default_trial
            self._default_trial = None  # looked up once, only when a reference needs it
            if raw:
                self.use_trial(raw, "history")
        pace = self.derived.get(name)
        return pace.s_per_m if pace is not None else None

    def named(self, name: str, ref: str, fraction: Fraction) -> Pace | None:
        """The pace called `name`: `fraction` (> 0) of the speed of reference `ref` (None: no reference).

        ValueError when that pace is out of bounds (:func:`check_pace`): the caller adds the position."""
        if name in self.overrides:
            pace = self.overrides[name]
        else:
            base = self.reference(ref)
            if base is None:
                return None
            pace = literal_pace(base / fraction)
            check_pace(pace, f"{name} pace ({pace.text})")
        self.used[name] = pace
        return pace

    def relative(self, ref: str, fraction: Fraction) -> tuple[str, Pace | None]:
        """``(name, pace)`` for `fraction` of `ref`'s speed: ``("5k", ...)`` at 100%, ``("85% 5k", ...)``.

        ValueError when `fraction` is outside :data:`RELATIVE_RANGE` or the pace out of bounds."""
        low, high = RELATIVE_RANGE
        if not low <= fraction <= high:
            raise ValueError(
                f"{percent_text(fraction)} of {ref} speed is no pace to run (a relative pace is "
                f"{percent_text(low)} to {percent_text(high)} of its reference's speed)"
            )
        fraction = round_percent(fraction)
        name = ref if fraction == 1 else f"{percent_text(fraction)} {ref}"
        return name, self.named(name, ref, fraction)


def importer_book(options: LoadOptions | None) -> PaceBook:
    """A book for an importer: the overrides parsed and the trial override used at once (errors first)."""
    book = PaceBook(options)
    _ = book.overrides
    if book.options.trial_override:
        book.use_trial(book.options.trial_override, "--trial")
    return book
