"""Media-tour RSVPs: tours from knowledge/tours.yaml, seats, waitlist and check-in."""
