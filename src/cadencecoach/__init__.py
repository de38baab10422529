"""cadencecoach: a metronome and interval audio coach for runners."""

__version__ = "0.1.0"
