"""Layer 5: executing notebooks, HTML pages, batches and index pages; the live session."""
