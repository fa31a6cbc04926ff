"""What a person sees of a run: the live progress display and the final summary."""
