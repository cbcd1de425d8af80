"""Documents generated from the code (AsyncAPI)."""
