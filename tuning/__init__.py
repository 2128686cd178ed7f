"""steps-tuner: measure steps_per_epoch and validation_split instead of guessing."""
