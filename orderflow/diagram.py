"""The flow as a diagram (Mermaid or Graphviz DOT), derived from the flow table.

With a checkout's history, the states and transitions it went through are highlighted.
"""

from __future__ import annotations

from collections.abc import Iterable

from orderflow.flow import FINAL, FLOW, INITIAL, Event, State, TransitionRecord

_START = "[*]"


def _edges() -> dict[tuple[State | None, State], list[Event]]:
    """Every (source, dest) pair of the table with the events that take it, in table order."""
    edges: dict[tuple[State | None, State], list[Event]] = {}
    for rule in FLOW:
        for source in rule.sources or (None,):
            for dest in rule.dests_from(source):
                edges.setdefault((source, dest), []).append(rule.event)
    return edges


def _taken(
    history: Iterable[TransitionRecord],
) -> tuple[set[tuple[State | None, State]], set[State]]:
    edges: set[tuple[State | None, State]] = set()
    states: set[State] = set()
    for record in history:
        edges.add((record.source, record.dest))
        states.add(record.dest)
        if record.source is not None:
            states.add(record.source)
    return edges, states


def mermaid(history: Iterable[TransitionRecord] = ()) -> str:
    """The flow as a Mermaid ``stateDiagram-v2``; ``history`` highlights one checkout's path."""
    taken_edges, visited = _taken(history)
    lines = ["stateDiagram-v2", "    direction LR"]
    for (source, dest), events in _edges().items():
        label = ", ".join(events)
        if (source, dest) in taken_edges:
            label = f"✔ {label}"
        lines.append(f"    {source.value if source else _START} --> {dest.value}: {label}")
    lines.extend(f"    {state.value} --> {_START}" for state in State if state in FINAL)
    if visited:
        lines.append("    classDef visited fill:#fde68a,stroke:#b45309,stroke-width:2px")
        names = ",".join(state.value for state in State if state in visited)
        lines.append(f"    class {names} visited")
    return "\n".join(lines) + "\n"


def dot(history: Iterable[TransitionRecord] = ()) -> str:
    """The flow as a Graphviz ``digraph``; ``history`` highlights one checkout's path."""
    taken_edges, visited = _taken(history)
    lines = [
        "digraph order_flow {",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded", fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        "    start [shape=point, width=0.15];",
    ]
    for state in State:
        attrs = ['style="rounded,filled"', 'fillcolor="#fde68a"'] if state in visited else []
        if state in FINAL:
            attrs.append("peripheries=2")
        if state is INITIAL:
            attrs.append('tooltip="initial state"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {state.value}{suffix};")
    for (source, dest), events in _edges().items():
        label = "\\n".join(events)
        style = ', color="#b45309", penwidth=2.5' if (source, dest) in taken_edges else ""
        lines.append(
            f'    {source.value if source else "start"} -> {dest.value} [label="{label}"{style}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The event table as Markdown: event, from, Centra call, where each answer leads, guards."""
    rows = [
        "| event | from | Centra call | answer → state | guards |",
        "|---|---|---|---|---|",
    ]
    for rule in FLOW:
        sources = ", ".join(s.value for s in rule.sources) or "(new)"
        call = f"`{rule.call.kind}`" if rule.call is not None else "none"
        if rule.call is not None and rule.call.moves_money:
            call += " (moves money)"
        leads = ", ".join(
            f"{answer} → {dest.value if dest is not None else 'same state'}"
            for answer, dest in rule.leads.items()
        )
        guards = ", ".join(g.__name__ for g in rule.guards)
        if rule.while_unsettled:
            guards = ", ".join(filter(None, (guards, "*allowed while a payment is in flight*")))
        rows.append(f"| `{rule.event}` | {sources} | {call} | {leads} | {guards} |")
    return "\n".join(rows) + "\n"
