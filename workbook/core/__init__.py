"""Layer 1, the ground: errors, paths, dates, number formatting. Imports nothing of the workbook."""
