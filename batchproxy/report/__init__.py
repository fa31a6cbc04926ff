"""What a run tells the operator: live progress, the summary, the event stream, the timeline and the HTML
report."""
