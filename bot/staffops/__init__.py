"""Staff operations: handoffs to a person, unanswered questions, usage figures."""
