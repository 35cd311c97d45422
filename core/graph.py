"""The app's action graph as a Mermaid flowchart (`wf graph`, SPEC §4): each workflow a subgraph
whose id is its name (its statements' node ids start with it), an edge from each `schedule` and
`call` statement to the subgraph of the workflow it starts, and from each trigger (recurring
event, database trigger) to its workflow's subgraph. A statement that ends the run `when` a
condition holds (`fail … when`, `return … when`, `terminate when`) is drawn as a branch."""

from __future__ import annotations

from .app import (
    App,
    Block,
    CallStep,
    DbTrigger,
    FailStep,
    ForEachStep,
    IfStep,
    Recurring,
    ReturnStep,
    ScheduleStep,
    Step,
    TerminateStep,
    Workflow,
    every_text,
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
        self.links: list[str] = []  # statement → the workflow it starts: drawn after every subgraph

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
        if isinstance(step, ENDS) and step.when is not None:  # a branch: the run ends here, or goes on
            ends, _, condition = text.rpartition(" when ")
            decision = f"{node_id}_when"
            self.node(decision, f"when {condition}" if ends else "when …", ("{", "}"))
            self.edges(entry, decision)
            self.node(node_id, ends or text, SHAPES[type(step)])
            self.edges([(decision, "yes")], node_id)
            return [(decision, "no")]
        self.node(node_id, text, SHAPES.get(type(step), ("[", "]")))
        self.edges(entry, node_id)
        if isinstance(step, ScheduleStep | CallStep):
            arrow = '-.->|"schedules"|' if isinstance(step, ScheduleStep) else '==>|"calls"|'
            self.links.append(f"  {node_id} {arrow} {step.workflow}")
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


def _trigger_text(t: Recurring | DbTrigger) -> str:
    if isinstance(t, DbTrigger):
        return f"on {t.event} {t.type_name}" + (" when …" if t.cond is not None else "")
    return every_text(t.amount, t.unit, t.at, t.zone)


def mermaid(app: App, workflow: str | None = None) -> str:
    """`flowchart TD` of every workflow (or of one, with what it starts and what starts it), each
    in its own subgraph, linked."""
    chart = _Flowchart()
    chosen = [app.workflows[workflow]] if workflow is not None else list(app.workflows.values())
    for wf in chosen:
        chart.lines.append(f"  subgraph {wf.name}")
        workflow_chart(wf, chart)
        chart.lines.append("  end")
    triggers: list[Recurring | DbTrigger] = [*app.recurring, *app.triggers]
    taken = set(app.workflows)
    for i, t in enumerate(triggers):
        if workflow is not None and t.workflow != workflow:
            continue
        node_id = f"trigger_{i}"
        while node_id in taken or any(node_id.startswith(name + "_") for name in taken):
            node_id = "t" + node_id  # never a workflow's id, nor one of its statements'
        chart.lines.append(f"  {node_id}>{_quote(_trigger_text(t))}]")
        chart.links.append(f"  {node_id} --> {t.workflow}")
    return "\n".join(["flowchart TD", *chart.lines, *chart.links]) + "\n"
