"""The peers' state machines, built from the same ``FLOW`` table as ours, doing the same work.

Each peer is what a competent user of that library writes: FLOW's states and transitions, the
flow's own guard functions as the transitions' conditions (so both sides run the same checks),
and the history record written by the library's after-transition callback. The event's
parameters (the shopper's details, the time) travel as the trigger's keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orderflow import flow
from orderflow.flow import Event, Guard, State, TransitionRecord


class CheckoutModel:
    """A peer's checkout: the same data as ours, as the mutable model a machine drives.

    It offers what the guards read (``items``, ``payment_methods``, ``cart``), as ours does.
    """

    def __init__(self, checkout_id: str, state: str, **data: Any) -> None:
        self.id = checkout_id
        self.state = state
        self.created_at = data.get("created_at")
        self.updated_at = data.get("updated_at")
        self.version: int = data.get("version", 0)
        self.selection_id = data.get("selection_id")
        self.cart = data.get("cart")
        self.details = data.get("details")
        self.history: list[Any] = list(data.get("history", ()))

    @property
    def items(self) -> tuple[Any, ...]:
        """The cart's lines."""
        return self.cart.selection.items if self.cart is not None else ()

    @property
    def payment_methods(self) -> tuple[str, ...]:
        """The ids of the payment methods the selection offers."""
        if self.cart is None:
            return ()
        return tuple(m.payment_method for m in self.cart.payment_methods)


def _edges() -> list[tuple[flow.Rule, State, State]]:
    return [
        (rule, source, dest)
        for rule in flow.FLOW
        for source in rule.sources
        for dest in rule.dests_from(source)
    ]


# --- transitions --------------------------------------------------------------------------


def _transitions_condition(guard: Guard) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        return guard(event.model, event.kwargs) is None

    return condition


def _transitions_record(event: Any) -> None:
    transition = event.transition
    event.model.history.append(
        TransitionRecord(
            Event(event.event.name),
            State(transition.source),
            State(transition.dest),
            event.kwargs["at"],
        )
    )


def transitions_config() -> dict[str, Any]:
    """Keyword arguments for a ``transitions.Machine``: FLOW with its guards and history.

    ``send_event=True`` hands each condition and callback the ``EventData`` (the model and the
    trigger's keyword arguments), as transitions documents for callbacks that need both.
    """
    return {
        "states": [state.value for state in State],
        "transitions": [
            {
                "trigger": rule.event.value,
                "source": source.value,
                "dest": dest.value,
                "conditions": [_transitions_condition(g) for g in rule.guards],
            }
            for rule, source, dest in _edges()
        ],
        "initial": flow.INITIAL.value,
        "auto_transitions": False,
        "send_event": True,
        "after_state_change": _transitions_record,
    }


# --- python-statemachine ------------------------------------------------------------------


def _statemachine_condition(guard: Guard) -> Callable[..., bool]:
    def condition(model: Any, **params: Any) -> bool:
        return guard(model, params) is None

    condition.__name__ = guard.__name__
    return condition


def _statemachine_record(self: Any, event: str, source: Any, target: Any, **params: Any) -> None:
    self.model.history.append(
        TransitionRecord(Event(event), State(source.value), State(target.value), params["at"])
    )


def statemachine_class() -> Any:
    """A python-statemachine ``StateMachine`` class: FLOW with its guards and history.

    Only ``cancelled`` is final for python-statemachine (a final state has no transitions, and
    ``paid`` has ``refresh_order``), so the check that every state reaches a final one is off.
    Raises ``ImportError`` when python-statemachine is not installed.
    """
    from statemachine import State as MachineState
    from statemachine import StateMachine

    sourced = {source for rule in flow.FLOW for source in rule.sources}
    namespace: dict[str, Any] = {
        state.value: MachineState(
            state.value,
            value=state.value,
            initial=state is flow.INITIAL,
            final=state in flow.FINAL and state not in sourced,
        )
        for state in State
    }
    events: dict[str, Any] = {}
    for rule, source, dest in _edges():
        conditions = [_statemachine_condition(g) for g in rule.guards] or None
        transition = namespace[source.value].to(namespace[dest.value], cond=conditions)
        name = rule.event.value
        events[name] = transition if name not in events else events[name] | transition
    namespace.update(events)
    namespace["after_transition"] = _statemachine_record
    namespace["validate_final_reachability"] = False
    metaclass: Any = type(StateMachine)  # the class is built like a class statement would
    return metaclass("CheckoutStateMachine", (StateMachine,), namespace)
