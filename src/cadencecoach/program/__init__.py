"""Training programs: weeks of sessions from the runner's goal, days, trial and volume (docs/PROGRAM.md)."""
