"""A faster step of Lark's LALR parser, over Lark's own tables and parser state.

Lark's `ParserState.feed_token` looks up rules and states by `Rule` and `Token` objects, whose
`__eq__` is Python code, and runs every reduction through its tree-builder wrappers; on a `.wf`
file that was a third of the parse. `Stepper` copies the table once into plain dicts of str
and int, skips the reductions that only pass a value up (the precedence levels of expressions)
and feeds Lark's own `ParserState`, so Lark's errors and `feed_token` still work on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedToken
from lark.parsers.lalr_analysis import Shift

# per state: terminal or rule name -> (new state, None) for a shift or a goto,
# or (size, (rule name, parse action)) for a reduction; the action is None for a `?rule: x`
# alternative, whose value is its one child's (most reductions: the precedence levels)
_Entry = tuple[int, tuple[str, Callable[[list[Any]], Any] | None] | None]


class Stepper:
    def __init__(self, lark: Lark):
        frontend: Any = lark.parser.parser
        parser: Any = frontend.parser
        callbacks = parser.callbacks
        self.states: dict[int, dict[str, _Entry]] = {}
        for state, actions in parser.parse_table.states.items():
            table: dict[str, _Entry] = {}
            for key, (action, arg) in actions.items():
                if action is Shift:
                    table[str(key)] = (arg, None)
                else:
                    passes = arg.options.expand1 and not arg.alias and len(arg.expansion) == 1
                    table[str(key)] = (len(arg.expansion), (str(arg.origin.name), None if passes else callbacks[arg]))
            self.states[state] = table
        # (state below, state on top, terminal) -> the top after every `?rule: x` reduction
        # that terminal triggers there: they pop one state and push one, so only these decide
        self._chains: dict[tuple[int, int, str], int] = {}

    def feed(self, state: Any, token: Token) -> None:
        """Shift `token` onto Lark's `ParserState`, reducing first as the table says."""
        states = self.states
        state_stack: list[int] = state.state_stack
        value_stack: list[Any] = state.value_stack
        kind = token.type
        while True:
            entry = states[state_stack[-1]].get(kind)
            if entry is None:
                expected = set(states[state_stack[-1]])
                raise UnexpectedToken(token, expected, state=state, interactive_parser=None)  # type: ignore[no-untyped-call]
            arg, reduce = entry
            if reduce is None:
                state_stack.append(arg)
                value_stack.append(token)
                return
            name, action = reduce
            if action is None:
                key = (state_stack[-2], state_stack[-1], kind)
                top = self._chains.get(key)
                if top is None:
                    top = self._chain(*key)
                state_stack[-1] = top
                continue
            if arg:
                children = value_stack[-arg:]
                del state_stack[-arg:]
                del value_stack[-arg:]
            else:
                children = []
            value_stack.append(action(children))
            state_stack.append(states[state_stack[-1]][name][0])

    def _chain(self, below: int, top: int, kind: str) -> int:
        states, state = self.states, top
        while True:
            entry = states[state].get(kind)
            if entry is None or entry[1] is None or entry[1][1] is not None:
                break
            state = states[below][entry[1][0]][0]
        self._chains[below, top, kind] = state
        return state
