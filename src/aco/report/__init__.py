"""Presentation of benchmark results: terminal tables, plots and the HTML report (no metric maths)."""
