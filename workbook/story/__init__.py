"""Layer 4: the words and charts of each notebook, built from what `analytics` returns."""
