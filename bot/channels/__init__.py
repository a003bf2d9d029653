"""Channel adapters: the only code that knows about a transport."""
