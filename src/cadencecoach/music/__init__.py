"""Music for runners: beat tracking, tempo-matched stretching, mixing and chapters (the ``[music]`` extra).

Modules:

* :mod:`.profile` -- the inline cadence profile grammar of ``track click`` (no extra needed);
* :mod:`.deps` -- imports the optional dependencies (exit 2 with the fix if one is missing or broken; see
  :mod:`cadencecoach.extras`);
* :mod:`.decode` -- streamed decoding of MP3/FLAC/OGG/WAV (libsndfile) and M4A/AAC (PyAV or ffmpeg), tags;
* :mod:`.onset`, :mod:`.beats` -- onset strength, tempo (autocorrelation + comb + metrical level) and
  dynamic-programming beat tracking (after Ellis 2007);
* :mod:`.analysis` -- one song in, a :class:`~.analysis.SongAnalysis` out (tempo, confidence, beats, loudness);
* :mod:`.loudness` -- streamed ITU-R BS.1770 loudness and a true-peak limiter;
* :mod:`.stretch` -- beat-anchored time maps and Rubber Band stretching (through pedalboard), in chunks;
* :mod:`.mix` -- ``track build``: playlist, crossfades on a beat, clicks on the stretched beats, output;
* :mod:`.output` -- atomic mix writing (MP3 through lameenc), ID3 CHAP/CTOC (MP3), Vorbis chapters
  (FLAC/OGG) and the Audacity label file;
* :mod:`.bed` -- ``render WORKOUT --music``: a playlist matched to each step's cadence, under the coach.

See docs/MUSIC.md.
"""

from __future__ import annotations
