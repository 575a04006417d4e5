"""YAML for files people hand us (test files): PyYAML's safe loader, with alias expansion bounded.

An alias (``*a``) makes the loaded data hold the anchored node (``&a``) again, so nine lines that each repeat
the previous one nine times ("billion laughs") load as 10^9 values. PyYAML builds that cheaply (aliases share
one Python object), but whatever walks the result afterwards (validation, JSON encoding) walks 10^9 values:
minutes of CPU. :class:`BoundedLoader` counts, while it composes the document, how many nodes each node stands
for once its aliases are expanded (bottom-up, so counting costs one pass over the document as written), and
refuses the alias that takes the expansion past :data:`MAX_ALIASED_NODES`, naming its line. Recursive aliases
(a node that contains itself) are refused too. PyYAML has no such limit of its own, hence this module.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

#: nodes that aliases may add to a document once expanded (a 50-node step reused 200 times is 10,000)
MAX_ALIASED_NODES = 10_000


class AliasLimitExceeded(ComposerError):
    """An alias expands the document past :data:`MAX_ALIASED_NODES`, or refers to a node that contains it."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents whose aliases expand past :data:`MAX_ALIASED_NODES` nodes."""

    max_aliased_nodes = MAX_ALIASED_NODES

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._expanded: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
        self._aliased = 0  # nodes aliases added so far

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)  # the anchored node (or an undefined-alias error)
            size = self._expanded.get(id(node))
            if size is None:  # still being composed: the alias is inside its own anchor
                raise AliasLimitExceeded(
                    problem=f"the alias *{event.anchor} is inside the node it refers to (a recursive structure)",
                    problem_mark=event.start_mark,
                )
            self._aliased += size - 1
            if self._aliased > self.max_aliased_nodes:
                raise AliasLimitExceeded(
                    problem=f"the alias *{event.anchor} expands the document past {self.max_aliased_nodes} "
                    "repeated values (aliases of aliases grow exponentially): write the values out, or repeat less",
                    problem_mark=event.start_mark,
                )
            return node
        node = super().compose_node(parent, index)
        if node is not None:
            self._expanded[id(node)] = 1 + sum(self._expanded[id(child)] for child in _children(node))
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load(text: str) -> Any:
    """The one document in ``text``, like ``yaml.safe_load``, with aliases bounded (raises ``yaml.YAMLError``)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
