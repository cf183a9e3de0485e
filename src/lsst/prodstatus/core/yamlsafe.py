"""YAML loading that refuses alias bombs.

PyYAML's safe loaders share the object an alias points to, so a "billion laughs"
document loads in microseconds — and then hangs whatever walks it (formatting a map,
hashing a campaign, writing a table): nine aliases of nine aliases, ten levels deep,
are 3.5 billion strings. `load` composes the node graph first (aliases are not
expanded there), counts the nodes the document would have once expanded, and refuses a
document whose aliases add more than `MAX_ALIAS_NODES` of them. A document without
aliases is never refused, whatever its size.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_ALIAS_NODES", "MSG_ALIAS_BOMB", "load"]

MAX_ALIAS_NODES = 100_000
"""How many nodes aliases may add to a document (anchors and merges of real files add a few)."""

MSG_ALIAS_BOMB = (
    "its aliases expand it to {expanded} nodes from {distinct} (more than {limit} added: an alias bomb?)"
)
"""The ``problem`` of the refusal, which the readers' "is not valid YAML" messages carry."""

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes of ``root`` once every alias is expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk: a deep document must not hit the recursion limit.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _distinct(root: yaml.Node) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
    return len(seen)


def load(data: Any, loader: Any = SafeLoader) -> Any:
    """``yaml.load(data, Loader=loader)`` (a safe loader), refusing alias bombs.

    Raises
    ------
    yaml.constructor.ConstructorError
        When the aliases of the document expand it by more than `MAX_ALIAS_NODES` nodes
        (its ``problem`` says so, its ``problem_mark`` is the document's start).
    """
    instance = loader(data)
    try:
        node = instance.get_single_node()
        if node is None:
            return None
        expanded, distinct = _expanded_size(node), _distinct(node)
        if expanded - distinct > MAX_ALIAS_NODES:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                MSG_ALIAS_BOMB.format(
                    expanded=f"{expanded:,}", distinct=f"{distinct:,}", limit=f"{MAX_ALIAS_NODES:,}"
                ),
                node.start_mark,
            )
        return instance.construct_document(node)
    finally:
        instance.dispose()
