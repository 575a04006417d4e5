"""Example tests and the small web app they run against."""
