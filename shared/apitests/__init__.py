"""API tests: HTTP request steps with extraction (a JSONPath subset) and expectations."""
