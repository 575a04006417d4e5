"""One construct per concern of the stack (``infra_cdk/stack.py`` composes them)."""
