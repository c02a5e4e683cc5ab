"""Training-side components (optimiser constructors)."""
