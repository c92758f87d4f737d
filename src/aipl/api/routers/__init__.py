"""One router per engine."""
