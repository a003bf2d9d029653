"""The knowledge base: YAML topics, validation and the answer engine."""
