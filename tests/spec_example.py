"""The complete example of shared/spec/workout-format.md, shared by the tests."""

SPEC_EXAMPLE = """\
name: 10 x 400 m at mile pace
notes: 60-90 s recovery between reps; stay relaxed, drive the arms.
cadence: 180                  # default click tempo, steps per minute, for every step
paces:                        # named paces; a step names one with `pace:`
  mile: 5:45/mi
  jog: 9:00/mi
steps:
  - warmup: 15min
    cadence: 170
  - repeat: 10
    steps:
      - run: 400m
        pace: mile
        cadence: 186
        say: Relax the shoulders.
      - recover: 90s
        click: off
  - cooldown: 10min
    cadence: 165-170          # a ramp: linear in tempo over the step
"""
