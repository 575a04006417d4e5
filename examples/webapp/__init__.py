"""A small example web app (stdlib only) that the example tests and the e2e suite run against."""

from examples.webapp.app import ADMIN_PASSWORD, ADMIN_USER, WebApp, serve

__all__ = ["ADMIN_PASSWORD", "ADMIN_USER", "WebApp", "serve"]
