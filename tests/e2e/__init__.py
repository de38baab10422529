"""End-to-end tests through a real (private) PulseAudio server; see tests/audio_server.py."""
