"""Staff broadcasts: audiences, a broadcast frozen into one row per recipient, progress."""
