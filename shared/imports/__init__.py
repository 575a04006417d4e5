"""Bringing tests from elsewhere: Postman collections (``postman.py``, with their test scripts read by
``postman_scripts.py``) and OpenAPI documents (``openapi.py``), each turned into autotest test files and a
report of what could not be translated. Used by the CLI (``autotest import``) and the API (``/v1/imports``)."""
