"""The Flask webhook receiver: ATSD webhook semantics, diagnostics API and pages."""
