"""A workflow's action graph as a Mermaid flowchart (`wf graph`)."""

from __future__ import annotations

from .app import (
    App,
    Block,
    CallStep,
    FailStep,
    ForEachStep,
    IfStep,
    ReturnStep,
    ScheduleStep,
    Step,
    TerminateStep,
    Workflow,
)

Exit = tuple[str, str | None]  # a node, and the label of the edge that leaves it

SHAPES: dict[type[Step], tuple[str, str]] = {
    IfStep: ("{", "}"),
    ForEachStep: ("{{", "}}"),
    ScheduleStep: ("[/", "/]"),
    CallStep: ("[[", "]]"),
    ReturnStep: ("([", "])"),
    TerminateStep: ("([", "])"),
    FailStep: ("([", "])"),
}
ENDS = (ReturnStep, TerminateStep, FailStep)


def _quote(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


class _Flowchart:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def node(self, node_id: str, text: str, shape: tuple[str, str] = ("[", "]")) -> None:
        self.lines.append(f"    {node_id}{shape[0]}{_quote(text)}{shape[1]}")

    def edges(self, sources: list[Exit], target: str) -> None:
        for src, label in sources:
            arrow = f"-->|{_quote(label)}|" if label else "-->"
            self.lines.append(f"    {src} {arrow} {target}")

    def block(self, prefix: str, block: Block, entry: list[Exit]) -> list[Exit]:
        """Draw `block` reached from `entry`; return the exits that flow on after it."""
        exits = entry
        for step in block:
            exits = self.step(prefix, step, exits)
        return exits

    def step(self, prefix: str, step: Step, entry: list[Exit]) -> list[Exit]:
        node_id = f"{prefix}_{step.id}"
        text = step.label or step.kind
        self.node(node_id, text, SHAPES.get(type(step), ("[", "]")))
        self.edges(entry, node_id)
        skip: list[Exit] = [(node_id, "when false")] if step.when is not None else []
        if isinstance(step, IfStep):
            out: list[Exit] = []
            for i, (_, body) in enumerate(step.branches):
                label = "yes" if len(step.branches) == 1 else f"branch {i + 1}"
                out += self.block(prefix, body, [(node_id, label)]) if body else [(node_id, label)]
            if step.else_body:
                out += self.block(prefix, step.else_body, [(node_id, "else")])
            else:
                out.append((node_id, "no" if len(step.branches) == 1 else "none"))
            return out + skip
        if isinstance(step, ForEachStep):
            body_exits = self.block(prefix, step.body, [(node_id, "each")])
            self.edges([(n, lab) for n, lab in body_exits if n != node_id], node_id)
            return [(node_id, "done"), *skip]
        if isinstance(step, ENDS):
            return skip
        return [(node_id, None), *skip]


def workflow_chart(wf: Workflow, chart: _Flowchart | None = None) -> list[str]:
    own = chart or _Flowchart()
    prefix = wf.name
    own.node(f"{prefix}_start", wf.name, ("([", "])"))
    exits = own.block(prefix, wf.body, [(f"{prefix}_start", None)])
    if exits:
        own.node(f"{prefix}_end", "end", ("([", "])"))
        own.edges(exits, f"{prefix}_end")
    return own.lines


def mermaid(app: App, workflow: str | None = None) -> str:
    """`flowchart TD` of one workflow, or of every workflow, each in its own subgraph."""
    lines = ["flowchart TD"]
    if workflow is not None:
        lines += workflow_chart(app.workflows[workflow])
        return "\n".join(lines) + "\n"
    for wf in app.workflows.values():
        lines.append(f"  subgraph {wf.name}")
        lines += workflow_chart(wf)
        lines.append("  end")
    return "\n".join(lines) + "\n"
