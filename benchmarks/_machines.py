"""The peers' state machines, built from the same ``FLOW`` table as ours."""

from __future__ import annotations

from typing import Any

from orderflow import flow


def transitions_config() -> dict[str, Any]:
    """Keyword arguments for a ``transitions.Machine`` with FLOW's states and transitions."""
    return {
        "states": [state.value for state in flow.State],
        "transitions": [
            {"trigger": rule.event.value, "source": source.value, "dest": dest.value}
            for rule in flow.FLOW
            for source in rule.sources
            for dest in rule.dests
        ],
        "initial": flow.INITIAL.value,
        "auto_transitions": False,
    }


def statemachine_class() -> Any:
    """A python-statemachine ``StateMachine`` class with FLOW's states and transitions.

    Raises ``ImportError`` when python-statemachine is not installed.
    """
    from statemachine import State, StateMachine

    namespace: dict[str, Any] = {
        state.value: State(
            state.value,
            value=state.value,
            initial=state is flow.INITIAL,
            final=state in flow.FINAL,
        )
        for state in flow.State
    }
    for rule in flow.FLOW:
        event: Any = None
        for source in rule.sources:
            for dest in rule.dests:
                transition = namespace[source.value].to(namespace[dest.value])
                event = transition if event is None else event | transition
        if event is not None:  # "open" has no source: the checkout is created in selection
            namespace[rule.event.value] = event
    metaclass: Any = type(StateMachine)  # the class is built like a class statement would
    return metaclass("CheckoutStateMachine", (StateMachine,), namespace)


class CheckoutModel:
    """A peer's checkout: the same data as ours, as a mutable model a machine drives."""

    def __init__(self, checkout_id: str, **data: Any) -> None:
        self.id = checkout_id
        self.state: str | None = None
        self.created_at = data.get("created_at")
        self.updated_at = data.get("updated_at")
        self.version: int = data.get("version", 0)
        self.selection_id = data.get("selection_id")
        self.cart = data.get("cart")
        self.details = data.get("details")
        self.history: list[Any] = list(data.get("history", ()))
