"""What a run tells the operator: the event stream, the timeline, the HTML report and the summary."""
