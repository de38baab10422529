"""The block renderer (``cadencecoach.core.renderer``): one pure function fills any block of the compiled timeline,
so rendering in blocks of any size gives the same audio. A tiny fake bank and fake speech keep it exact."""

from __future__ import annotations

import itertools
import textwrap

import numpy as np
import pytest

from cadencecoach.core.renderer import CLICK_LEVEL, DUCK_DB, DUCK_MARGIN_S, KEY_DUCK_DB, BlockRenderer
from cadencecoach.core.timeline import CueSpeech, Timeline, compile_workout, cue_texts
from cadencecoach.workout.loader import load_workout_text

SR = 8000
DUCK = 10 ** (DUCK_DB / 20)
KEY_DUCK = 10 ** (KEY_DUCK_DB / 20)

WORKOUT = """\
name: Blocks
steps:
  - run: 6s
    cadence: 120
    breathing: 3:2
  - rest: 2.5s
    click: off
  - run: 5.3s
    cadence: 150-170
    say: Quick feet.
"""


def fake_bank(scale: float = 1.0) -> list[np.ndarray]:
    """Four distinct short voices (regular, accent, inhale, exhale)."""
    rng = np.random.default_rng(7)
    return [(rng.uniform(-1, 1, n) * scale).astype(np.float32) for n in (40, 53, 67, 81)]


def fake_speech(texts: set[str], scale: float = 0.6) -> dict[str, np.ndarray]:
    """Distinct audio per text: a tone whose pitch and length depend on the text."""
    out = {}
    for i, text in enumerate(sorted(texts)):
        n = int(SR * min(0.9, 0.2 + 0.03 * len(text)))
        t = np.arange(n) / SR
        out[text] = (scale * np.sin(2 * np.pi * (300 + 40 * i) * t)).astype(np.float32)
    return out


def timeline(text: str = WORKOUT, speech: bool = True, scale: float = 0.6) -> Timeline:
    wk = load_workout_text(textwrap.dedent(text), "w.yaml")
    return compile_workout(wk, SR, speech=fake_speech(cue_texts(wk), scale) if speech else None)


def render_all(r: BlockRenderer, block: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    stop = r.length if stop is None else stop
    parts = []
    pos = start
    while pos < stop:
        n = min(block, stop - pos)
        buf = np.empty(n, np.float32)
        r.render(pos, buf)
        parts.append(buf)
        pos += n
    return np.concatenate(parts)


def whole(r: BlockRenderer) -> np.ndarray:
    out = np.empty(r.length, np.float32)
    r.render(0, out)
    return out


def test_fixture_has_clicks_voices_and_speech() -> None:
    tl = timeline()
    assert len(tl.clicks) > 20
    assert set(tl.click_variant.tolist()) == {0, 2, 3}
    assert all(c.audio is not None for c in tl.cues)
    assert {c.kind for c in tl.cues} >= {"announce", "say", "countdown", "finish"}


@pytest.mark.parametrize("block", [7, 256, 4096, 10**9])
def test_block_size_does_not_change_the_output(block: int) -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    ref = whole(r)
    assert np.any(ref != 0)
    got = render_all(r, block)
    assert got.dtype == np.float32
    assert np.array_equal(got, ref)


def test_block_size_1_over_a_busy_stretch() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    ref = whole(r)
    a, b = tl.steps[0].end - SR * 3 // 2, tl.steps[2].start + SR  # countdown, boundary, silence, restart, speech
    got = render_all(r, 1, a, b)
    assert np.array_equal(got, ref[a:b])


def test_random_block_sizes_and_restarts() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    ref = whole(r)
    rng = np.random.default_rng(1)
    pos = 0
    while pos < r.length:
        n = int(rng.integers(1, 3000))
        buf = np.full(n, 9.0, np.float32)  # render must overwrite, not add to, what is there
        r.render(pos, buf)
        assert np.array_equal(
            buf, ref[pos : pos + n] if pos + n <= r.length else np.pad(ref[pos:], (0, pos + n - r.length))
        )
        pos += n
    # rendering is pure: any block again, in any order, is the same
    for s in (5000, 17, 40000, 0):
        buf = np.empty(333, np.float32)
        r.render(s, buf)
        assert np.array_equal(buf, ref[s : s + 333])


def test_after_the_end_is_silence() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    buf = np.empty(1000, np.float32)
    r.render(r.length + 10, buf)
    assert np.all(buf == 0)
    assert r.length == tl.length


def test_each_click_sound_starts_exactly_on_its_onset() -> None:
    tl = timeline()
    bank = fake_bank()
    r = BlockRenderer(tl, bank)
    r.voice_enabled = False
    out = whole(r)
    assert len(tl.clicks) > 0
    for onset, voice in zip(tl.clicks.tolist(), tl.click_variant.tolist(), strict=True):
        sound = bank[voice] * np.float32(CLICK_LEVEL)
        assert out[onset - 1] == 0  # nothing before the onset (clicks are far apart)
        assert np.array_equal(out[onset : onset + len(sound)], sound)
        assert out[onset + len(sound)] == 0
    # and nothing but clicks
    mask = np.zeros(len(out), bool)
    for onset, voice in zip(tl.clicks.tolist(), tl.click_variant.tolist(), strict=True):
        mask[onset : onset + len(bank[voice])] = True
    assert np.all(out[~mask] == 0)


def test_click_voices_use_their_bank_sound() -> None:
    tl = timeline()
    bank = fake_bank()
    r = BlockRenderer(tl, bank)
    r.voice_enabled = False
    out = whole(r)
    first_exhale = int(tl.clicks[list(tl.click_variant).index(3)])
    assert np.array_equal(out[first_exhale : first_exhale + 81], bank[3] * np.float32(CLICK_LEVEL))


def test_speech_is_placed_at_its_cue() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    r.click_enabled = False
    out = whole(r)
    mask = np.zeros(len(out), bool)
    for cue in tl.cues:
        assert cue.audio is not None
        assert np.array_equal(out[cue.at : cue.at + len(cue.audio)], cue.audio)
        if cue.at > 0:
            assert out[cue.at - 1] == 0 or mask[cue.at - 1]
        mask[cue.at : cue.at + len(cue.audio)] = True
    assert np.all(out[~mask] == 0)


def _click_gains(r: BlockRenderer, tl: Timeline, bank: list[np.ndarray]) -> list[float]:
    """The gain each click of `tl` is heard at in `r`'s output (its sound measured against the bank's)."""
    both = whole(r)
    r.click_enabled = False
    speech_only = whole(r)
    r.click_enabled = True
    clicks_only = both - speech_only
    gains = []
    for onset, voice in zip(tl.clicks.tolist(), tl.click_variant.tolist(), strict=True):
        sound = bank[voice] * np.float32(CLICK_LEVEL)
        heard = clicks_only[onset : onset + len(sound)]
        gain = float(np.dot(heard, sound) / np.dot(sound, sound))
        np.testing.assert_allclose(heard, sound * np.float32(gain), atol=1e-6)  # the click itself, only scaled
        gains.append(gain)
    return gains


def test_clicks_under_speech_are_ducked_by_6_db_and_under_countdown_words_by_20() -> None:
    tl = timeline()
    bank = fake_bank()
    margin = int(DUCK_MARGIN_S * SR)
    counts = {"plain": 0, "duck": 0, "key": 0}
    for onset, gain in zip(tl.clicks.tolist(), _click_gains(BlockRenderer(tl, bank), tl, bank), strict=True):
        under = [c for c in tl.cues if c.at - margin <= onset < c.end]
        kind = "plain" if not under else "key" if under[0].kind == "countdown" else "duck"
        counts[kind] += 1
        assert gain == pytest.approx({"plain": 1.0, "duck": DUCK, "key": KEY_DUCK}[kind], abs=1e-6), (onset, kind)
    assert min(counts.values()) >= 3, counts
    assert 20 * np.log10(DUCK) == pytest.approx(-6.0)
    assert 20 * np.log10(KEY_DUCK) == pytest.approx(-20.0)


def test_clicks_under_a_cues_key_spans_are_ducked_deep_and_stay_on_the_beat() -> None:
    """A key span (the rep number of an announcement) ducks the clicks starting in it by 20 dB, the rest of
    the cue by 6 dB; no click moves or disappears."""
    text = "name: Reps\nsteps:\n  - repeat: 2\n    steps:\n      - run: 8s\n        cadence: 180\n"
    wk = load_workout_text(text, "w.yaml")
    plain = fake_speech(cue_texts(wk))
    announce = next(t for t in plain if t.startswith("Run."))
    speech = CueSpeech(plain, {announce: ((2000, 3200),)})  # 0.25-0.4 s into the announcement
    tl = compile_workout(wk, SR, speech=speech)
    untouched = compile_workout(wk, SR, speech=plain)
    assert tl.clicks.tolist() == untouched.clicks.tolist()
    cue = next(c for c in tl.cues if c.text == announce)
    assert cue.key_spans == ((2000, 3200),)
    bank = fake_bank()
    margin = int(DUCK_MARGIN_S * SR)
    gains = dict(zip(tl.clicks.tolist(), _click_gains(BlockRenderer(tl, bank), tl, bank), strict=True))
    in_key = [o for o in gains if cue.at + 2000 - margin <= o < cue.at + 3200]
    in_rest = [o for o in gains if cue.at <= o < cue.end and o not in in_key]
    assert in_key and in_rest
    assert all(gains[o] == pytest.approx(KEY_DUCK, abs=1e-6) for o in in_key)
    assert all(gains[o] == pytest.approx(DUCK, abs=1e-6) for o in in_rest)


def test_no_ducking_when_the_voice_is_muted_or_silent() -> None:
    tl = timeline()
    bank = fake_bank()
    r = BlockRenderer(tl, bank)
    r.voice_enabled = False
    muted = whole(r)
    silent = whole(BlockRenderer(timeline(speech=False), bank))  # cues without audio: nothing is spoken
    for out in (muted, silent):
        for onset, voice in zip(tl.clicks.tolist(), tl.click_variant.tolist(), strict=True):
            sound = bank[voice] * np.float32(CLICK_LEVEL)
            assert np.array_equal(out[onset : onset + len(sound)], sound)


def test_mute_flags() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    full = whole(r)
    r.click_enabled = False
    voice_only = whole(r)
    r.voice_enabled = False
    nothing = whole(r)
    r.click_enabled = True
    clicks_only = whole(r)
    assert np.all(nothing == 0)
    assert np.any(voice_only != 0)
    assert np.any(clicks_only != 0)
    assert np.any(full != voice_only)
    assert np.any(full != clicks_only)
    outside_speech = np.ones(len(full), bool)
    for c in tl.cues:
        outside_speech[max(0, c.at - int(DUCK_MARGIN_S * SR) - 100) : c.end + 100] = False  # clicks are < 100 long
    assert np.array_equal(full[outside_speech], clicks_only[outside_speech])


@pytest.mark.parametrize("volume", [0.0, 0.25, 0.5, 1.0])
def test_volume_scales_the_mix(volume: float) -> None:
    tl = timeline()
    bank = fake_bank()
    ref = whole(BlockRenderer(tl, bank))
    out = whole(BlockRenderer(tl, bank, volume=volume))
    np.testing.assert_allclose(out, ref * np.float32(volume), atol=1e-7)


def test_volume_is_a_live_attribute() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    ref = whole(r)
    r.volume = 0.5
    np.testing.assert_allclose(whole(r), ref * 0.5, atol=1e-7)


def test_output_never_leaves_minus_one_to_one() -> None:
    loud = """\
    name: loud
    steps:
      - run: 4s
        cadence: 300
      - run: 4s
        cadence: 300
    """
    tl = timeline(loud, scale=5.0)
    r = BlockRenderer(tl, fake_bank(scale=40.0), volume=1.0, voice_level=3.0)
    out = whole(r)
    assert out.max() == 1.0
    assert out.min() == -1.0
    assert np.all(np.abs(out) <= 1.0)
    for block in (1, 7, 256):
        part = render_all(r, block, 0, 20000)
        assert np.array_equal(part, out[:20000])
    r.volume = 2.0
    assert np.all(np.abs(whole(r)) <= 1.0)


def test_default_levels_do_not_clip() -> None:
    tl = timeline()
    bank = [b / np.abs(b).max() for b in fake_bank()]  # peak 1.0, like sounds.load_bank
    out = whole(BlockRenderer(tl, bank))
    assert np.abs(out).max() <= 0.5 + 0.6 * 1.0001


def test_pre_roll_before_time_zero() -> None:
    tl = timeline()
    pre = np.linspace(-0.5, 0.5, 500, dtype=np.float32)
    r = BlockRenderer(tl, fake_bank(), pre_roll=pre)
    assert r.pre_roll_length == 500
    ref = whole(r)
    for block in (1, 7, 256, 600):
        got = render_all(r, block, -500, 2000)
        assert np.array_equal(got[:500], pre)
        assert np.array_equal(got[500:], ref[:2000])


def test_empty_bank_and_no_cues() -> None:
    tl = timeline("name: x\nvoice: off\nsteps:\n  - run: 2s\n", speech=False)
    r = BlockRenderer(tl, [np.zeros(0, np.float32)] * 4)
    assert np.all(whole(r) == 0)


def test_blocks_agree_for_every_pair_of_sizes() -> None:
    tl = timeline()
    r = BlockRenderer(tl, fake_bank())
    outs = {b: render_all(r, b) for b in (7, 256, 4096)}
    for a, b in itertools.combinations(outs, 2):
        assert np.array_equal(outs[a], outs[b])


def test_cue_audio_is_scaled_once_and_shared_by_renderers() -> None:
    tl = timeline()
    a = BlockRenderer(tl, fake_bank(), voice_level=0.5)
    b = BlockRenderer(tl, fake_bank(), voice_level=0.5)
    assert a._cue_audio and all(x is y for x, y in zip(a._cue_audio, b._cue_audio, strict=True))
    assert not any(x.flags.writeable for x in a._cue_audio)  # shared: nobody may change it
    assert np.array_equal(whole(a), whole(b))
    # the scaled audio is exactly what scaling per renderer gave
    spoken = sorted((c for c in tl.cues if c.audio is not None), key=lambda c: c.at)
    for cue, scaled in zip(spoken, a._cue_audio, strict=True):
        assert np.array_equal(scaled, np.ascontiguousarray(cue.audio, np.float32) * np.float32(0.5))
    # another level, or new audio for a cue, is scaled again
    c = BlockRenderer(tl, fake_bank(), voice_level=0.25)
    assert not any(x is y for x, y in zip(a._cue_audio, c._cue_audio, strict=True))
    cue = spoken[0]
    cue.audio = np.ones(10, np.float32)
    assert cue.scaled_audio(0.5)[0].tolist() == [0.5] * 10
    assert cue.scaled_audio(0.5)[1] == 0.5


def test_click_track_renders_the_clicks_of_a_renderer() -> None:
    from cadencecoach.core.renderer import ClickTrack

    tl = timeline("name: x\nvoice: off\nsteps:\n  - run: 6s\n    cadence: 200\n    breathing: 3:2\n", speech=False)
    track = ClickTrack(tl.clicks, tl.click_variant, fake_bank(), click_level=0.7)
    r = BlockRenderer(tl, fake_bank(), click_level=0.7)
    for block in (1, 333, 4096):
        got = np.concatenate([_render_part(track, s, min(block, tl.length - s)) for s in range(0, tl.length, block)])
        assert np.array_equal(got, whole(r))


def test_click_track_clips_only_when_clicks_overlap() -> None:
    from cadencecoach.core.renderer import ClickTrack

    bank = [np.full(10, 1.0, np.float32)]
    apart = ClickTrack([0, 20], [0, 0], bank, click_level=1.0)
    close = ClickTrack([0, 5], [0, 0], bank, click_level=1.0)
    assert not apart.may_overlap and close.may_overlap
    out = np.empty(30, np.float32)
    close.render(0, out)
    assert out.max() == 1.0  # 2.0 where they overlap, clipped


def _render_part(track: object, start: int, n: int) -> np.ndarray:
    buf = np.empty(n, np.float32)
    track.render(start, buf)  # type: ignore[attr-defined]
    return buf
