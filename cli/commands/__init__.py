"""Client commands of the ``autotest`` CLI."""
