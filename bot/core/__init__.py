"""The transport-agnostic core: message types, dispatcher, replies."""
