"""Process set-up for the tools: launchers, the CPU allocator, run checks."""
