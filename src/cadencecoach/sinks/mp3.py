"""MP3 bitstreams as LAME writes them: frames, the join of two encodings of one signal, the gapless Info tag.

A Layer III stream is a run of frames, each a 4-byte header, side information and a payload area. A frame's
*main data* (its Huffman-coded spectrum) need not sit in its own payload: it begins ``main_data_begin`` bytes
before the frame's header, in the payload areas of the frames before it (the *bit reservoir*). So frames cut from
two encodings cannot simply be concatenated: the first frame taken from the second would read its first bytes
out of the first encoding's frames. :func:`join` does the join properly: it moves those bytes into the tail of the
frames kept from the first encoding, where the first encoding had put the main data of the frames it drops, and
refuses (returns None) when they do not fit. Both encodings must start on the same frame grid and, for the result
to sound as one, overlap: :mod:`cadencecoach.sinks.encode` encodes chunks of a render in parallel and joins them in
stretches of silence, so that the join is exact.

:func:`info_frame` makes the Xing/LAME "Info" frame that LAME writes first (lameenc does not): the frame count, the
byte count, a seek table and the encoder delay and padding, from which decoders (FFmpeg, mpg123, foobar2000,
Rockbox, Apple's) cut the encoder's 576 leading samples and the padding of the last frame: the file decodes to
exactly the rendered samples, and players join tracks without a gap.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ENCODER_DELAY",
    "Frame",
    "FrameReader",
    "crc16",
    "frame_at",
    "info_frame",
    "join",
    "split_frames",
]

#: Samples LAME puts before the signal when it does not resample (``lame_get_encoder_delay``), written in the Info
#: tag; a decoder adds its own 529 (the synthesis filter bank), so decoded sample ``ENCODER_DELAY + 529 + i`` is
#: input sample ``i`` of a stream that has no Info tag.
ENCODER_DELAY = 576
DECODER_DELAY = 529

_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_KBPS_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


@dataclass(frozen=True)
class Frame:
    """One Layer III frame's header fields."""

    version: int  # header bits: 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    rate: int
    kbps: int
    padding: int
    channels: int
    crc: bool  # a 16-bit CRC follows the header
    size: int  # bytes, header included

    @property
    def samples(self) -> int:
        """Samples per channel in the frame: 1152 (MPEG-1) or 576."""
        return 1152 if self.version == 3 else 576

    @property
    def side_info(self) -> int:
        """Bytes of side information after the header (and its CRC)."""
        if self.version == 3:
            return 17 if self.channels == 1 else 32
        return 9 if self.channels == 1 else 17

    @property
    def payload_start(self) -> int:
        return 4 + (2 if self.crc else 0) + self.side_info


def frame_at(data: bytes | bytearray | memoryview, offset: int = 0) -> Frame:
    """The Layer III frame header at `offset`; ``ValueError`` for anything else (free format included)."""
    if len(data) - offset < 4:
        raise ValueError("truncated MP3 frame header")
    (h,) = struct.unpack_from(">I", data, offset)
    version, layer = (h >> 19) & 3, (h >> 17) & 3
    kbps_index, rate_index = (h >> 12) & 15, (h >> 10) & 3
    if h >> 21 != 0x7FF or version == 1 or layer != 1 or kbps_index in (0, 15) or rate_index == 3:
        raise ValueError(f"not an MPEG Layer III frame header at byte {offset}: {h:08x}")
    rate = _RATES[version][rate_index]
    kbps = (_KBPS_V1 if version == 3 else _KBPS_V2)[kbps_index]
    padding = (h >> 9) & 1
    per_frame = 144 if version == 3 else 72
    size = per_frame * kbps * 1000 // rate + padding
    channels = 1 if (h >> 6) & 3 == 3 else 2
    return Frame(version, rate, kbps, padding, channels, not (h >> 16) & 1, size)


def _main_data_begin(frame: bytes | bytearray, info: Frame) -> int:
    at = 4 + (2 if info.crc else 0)
    if info.version == 3:
        return (frame[at] << 1) | (frame[at + 1] >> 7)  # 9 bits
    return frame[at]  # 8 bits


class FrameReader:
    """Cuts a byte stream, fed in any pieces, into whole frames: ``feed(data)`` returns the frames completed."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._pending += data
        out: list[bytes] = []
        at = 0
        buf = self._pending
        while len(buf) - at >= 4:
            size = frame_at(buf, at).size
            if len(buf) - at < size:
                break
            out.append(bytes(buf[at : at + size]))
            at += size
        del buf[:at]
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame kept for the next ``feed``."""
        return len(self._pending)


def split_frames(data: bytes) -> list[bytes]:
    """All frames of a complete stream; ``ValueError`` if it does not end on a frame boundary."""
    reader = FrameReader()
    frames = reader.feed(data)
    if reader.pending:
        raise ValueError(f"MP3 stream ends in the middle of a frame ({reader.pending} bytes left)")
    return frames


def _payload_spans(frames: Sequence[bytes | bytearray], end: int) -> list[tuple[int, int, int]]:
    """(frame index, first byte, end byte) of the payload areas of ``frames[:end]``, last first."""
    spans = []
    for i in range(end - 1, -1, -1):
        info = frame_at(frames[i])
        spans.append((i, info.payload_start, info.size))
    return spans


def join(a: Sequence[bytes], b: Sequence[bytes], at: int, b_at: int | None = None) -> list[bytes] | None:
    """``a[:at] + b[b_at:]`` (`b_at` defaults to `at`) as a valid stream, or None when `b`'s first frame cannot be
    given the reservoir bytes it reads.

    ``b[b_at]`` reads its first ``main_data_begin`` bytes from the payload areas before it; in `a` those areas end
    with the main data of ``a[at]`` (its own ``main_data_begin`` bytes), which is dropped. When `b`'s reservoir is no
    longer than that, `b`'s bytes are copied over it (the rest of the dropped data zeroed), and every kept frame of
    both decodes exactly as it did in its own stream. Only the frames of `a` whose payload is touched are copied.
    """
    b_at = at if b_at is None else b_at
    if not 0 < at < len(a) or not 0 < b_at < len(b):
        raise ValueError("the join must have frames of both encodings before and after it")
    need = _main_data_begin(b[b_at], frame_at(b[b_at]))
    free = _main_data_begin(a[at], frame_at(a[at]))
    if need > free:
        return None
    source = bytearray()  # b's reservoir bytes, gathered from the payload areas before b[b_at]
    for i, start, end in _payload_spans(b, b_at):
        if len(source) >= need:
            break
        source[:0] = b[i][start:end]
    if len(source) < need:
        return None  # a malformed stream: it reads before its first frame
    fill = bytes(free - need) + bytes(source[len(source) - need :])
    out = list(a[:at])
    remaining = len(fill)
    for i, start, end in _payload_spans(out, at):
        if remaining == 0:
            break
        take = min(remaining, end - start)
        frame = bytearray(out[i])
        frame[end - take : end] = fill[remaining - take : remaining]
        out[i] = bytes(frame)
        remaining -= take
    if remaining:
        return None
    out.extend(b[b_at:])
    return out


# -- the Info tag ------------------------------------------------------------------------------------------------

_CRC16_TABLE: list[int] = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0xA001 if _c & 1 else _c >> 1
    _CRC16_TABLE.append(_c)


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16 (polynomial 0x8005, reflected, as LAME's tag uses).

    >>> hex(crc16(b"123456789"))
    '0xbb3d'
    """
    for byte in data:
        crc = (crc >> 8) ^ _CRC16_TABLE[(crc ^ byte) & 0xFF]
    return crc


_XING_FLAGS = 0x0F  # frames, bytes, TOC and quality fields present
_LAME_VERSION = b"LAME3.100"


def info_frame(
    like: bytes,
    *,
    frames: int,
    stream_bytes: int,
    padding: int,
    toc: Sequence[int] | None = None,
    vbr: bool = False,
    quality: int = 2,
    kbps: int = 0,
    delay: int = ENCODER_DELAY,
) -> bytes:
    """The Xing/LAME tag frame that goes first in the stream of audio frames `like` begins.

    Parameters
    ----------
    like : bytes
        The stream's first audio frame (its version, sample rate and channel mode are copied).
    frames : int
        Audio frames after this one.
    stream_bytes : int
        Bytes of the whole stream, this frame included.
    padding : int
        Samples after the signal in the last frame (``frames * samples - delay - signal``).
    toc : sequence of int, optional
        The seek table: 100 bytes, entry ``i`` the byte position of ``i`` percent of the time as a fraction of
        `stream_bytes` in 256ths. Default: the even table of a constant bit rate.
    vbr : bool
        "Xing" (variable bit rate) instead of "Info" (constant).
    quality, kbps : int
        LAME's quality setting (0-9) and the bit rate (for the tag's informative fields).
    delay : int
        The encoder delay (:data:`ENCODER_DELAY`).
    """
    first = frame_at(like)
    if not 0 <= padding < 4096 or not 0 <= delay < 4096:
        raise ValueError(f"encoder delay {delay} or padding {padding} does not fit the LAME tag")
    table = list(toc) if toc is not None else [i * 256 // 100 for i in range(100)]
    if len(table) != 100 or not all(0 <= v <= 255 for v in table):
        raise ValueError("the seek table must have 100 entries of 0..255")
    rate_bits = {44100: 1, 48000: 2}.get(first.rate, 0 if first.rate <= 32000 else 3)
    vbr_method = 4 if vbr else 1  # 4: VBR (mtrh), 1: constant bit rate
    lame = (
        _LAME_VERSION
        + bytes([vbr_method, 0])  # tag revision 0 | VBR method; lowpass unknown
        + bytes(8)  # replay gain: none
        + bytes([0, min(kbps, 255)])  # encoding flags / ATH; bit rate
        + (delay << 12 | padding).to_bytes(3, "big")
        + bytes([rate_bits << 6, 0])  # misc (source sample rate); MP3 gain
        + bytes(2)  # preset, surround
        + stream_bytes.to_bytes(4, "big")  # music length, this frame included
        + bytes(2)  # music CRC: not computed (no decoder checks it)
    )
    xing = (
        (b"Xing" if vbr else b"Info")
        + struct.pack(">III", _XING_FLAGS, frames, stream_bytes)
        + bytes(table)
        + struct.pack(">I", max(0, 100 - 10 * quality))
    )
    body_len = first.side_info + len(xing) + len(lame) + 2
    kbps_table = _KBPS_V1 if first.version == 3 else _KBPS_V2
    per_frame = 144 if first.version == 3 else 72
    for index, candidate in enumerate(kbps_table):
        if index and per_frame * candidate * 1000 // first.rate >= 4 + body_len:
            break
    else:
        raise ValueError("no bit rate makes a frame large enough for the Info tag")
    size = per_frame * candidate * 1000 // first.rate
    (h,) = struct.unpack_from(">I", like, 0)
    h = (h & ~(0xF << 12) & ~(1 << 9)) | (index << 12) | (1 << 16)  # this bit rate, no padding, no CRC
    head = struct.pack(">I", h) + bytes(first.side_info) + xing + lame
    frame = bytearray(head + struct.pack(">H", crc16(head)))
    frame += bytes(size - len(frame))
    return bytes(frame)
