"""An HTML report of a training run: learning curves and annotated sample trajectories.

Reads the run directory only (``config.yaml``, ``metrics.jsonl``,
``samples.jsonl``, and ``trees.jsonl`` of a tree-search run), so it works on
any finished or running run. Figures are drawn with matplotlib's object API
(no global pyplot state) and embedded as PNG, so the report is one self-contained file.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentgym.trainers.algorithms import ReportSpec, get_algorithm
from agentgym.trainers.config import read_config
from agentgym.trainers.runlog import METRICS, SAMPLES, TREES, read_jsonl

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1, h2, h3 { font-weight: 600; } table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; font-size: 13px; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.obs { max-width: 420px; white-space: pre-wrap; font-family: monospace; font-size: 12px; }
.won { color: #18794e; } .lost, .truncated, .failed { color: #b42318; }
img { max-width: 100%; } .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
"""


def write_report(
    run_dir: str | Path, path: str | Path | None = None, notes: dict[str, str] | None = None
) -> Path:
    """Write ``report.html`` for ``run_dir`` (or ``path``); returns where it went."""
    run_dir = Path(run_dir)
    path = Path(path) if path else run_dir / "report.html"
    config = read_config(run_dir / "config.yaml")
    records = read_jsonl(run_dir / METRICS)
    train = [r for r in records if r["kind"] == "train"]
    evals = [r for r in records if r["kind"] == "eval"]
    spec = get_algorithm(config.algorithm).algorithm_class.report
    parts = [
        f"<h1>{html.escape(config.algorithm)} on {html.escape(config.env)}</h1>",
        _summary(config, train, evals, notes or {}),
        "<h2>Learning curves</h2>",
        '<div class="grid">',
        _figure(
            "Success rate",
            [
                ("held-out", evals, "success_rate"),
                ("training rollouts (5-iteration mean)", _smooth(train, "success"), "success"),
            ],
            ylim=(-0.02, 1.02),
        ),
        _figure(
            "Return and invalid actions", [("return", train, "return"), ("invalid rate", train, "invalid")]
        ),
        *(_figure(title, [(label, train, key) for label, key in series]) for title, series in spec.figures),
        *_league_figures(train),
        "</div>",
        "<h2>Sample trajectories</h2>",
        _samples(read_jsonl(run_dir / SAMPLES), spec),
        _trees(read_jsonl(run_dir / TREES)),
    ]
    page = f"<!doctype html><meta charset='utf-8'><title>agentgym run report</title><style>{_STYLE}</style>"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page + "\n".join(parts), encoding="utf-8")
    return path


def success_change(evals: list[dict[str, Any]]) -> str:
    """The held-out success of the first and last evaluation records of a run.

    Example:
        >>> first = {"success_rate": 0.25, "iteration": 0, "episodes": 64}
        >>> success_change([first, {**first, "success_rate": 0.5, "iteration": 40}])
        '25.0% at iteration 0 → 50.0% at iteration 40 (64 episodes)'
    """
    first, last = evals[0], evals[-1]
    return (
        f"{first['success_rate']:.1%} at iteration {first['iteration']} → "
        f"{last['success_rate']:.1%} at iteration {last['iteration']} ({last['episodes']} episodes)"
    )


def _summary(
    config: Any, train: list[dict[str, Any]], evals: list[dict[str, Any]], notes: dict[str, str]
) -> str:
    rows = {
        "algorithm": config.algorithm,
        "env": f"{config.env} {config.env_kwargs or ''}",
        "model": config.model.name_or_path,
        "iterations": str(len(train)),
        "env steps trained on": f"{train[-1]['env_steps_total']:,}" if train else "0",
    }
    if evals:
        rows[f"{evals[0]['split']} success"] = success_change(evals)
    algo = config.algo.model_dump()
    rows["algo"] = ", ".join(f"{k}={v}" for k, v in algo.items())
    rows["optim"] = ", ".join(f"{k}={v}" for k, v in config.optim.model_dump().items())
    rows.update(notes)
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _figure(
    title: str,
    series: Sequence[tuple[str, list[dict[str, Any]], str]],
    ylim: tuple[float, float] | None = None,
) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, records, key in series:
        points = [(r["iteration"], r[key]) for r in records if key in r]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=3, label=label)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("iteration", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def _league_figures(train: list[dict[str, Any]]) -> list[str]:
    """A league run's Elo ratings (every member and the learner) and its score against its opponents."""
    keys = sorted({key for record in train for key in record if key.startswith("rating/")})
    if not keys:
        return []
    return [
        _figure("League ratings (Elo)", [(key.removeprefix("rating/"), train, key) for key in keys]),
        _figure(
            "Against league opponents",
            [("score (win 1, draw 0.5)", train, "league_score"), ("point margin", train, "league_margin")],
        ),
    ]


def _smooth(records: list[dict[str, Any]], key: str, window: int = 5) -> list[dict[str, Any]]:
    """``records`` with ``key`` replaced by its trailing mean over ``window`` records."""
    out = []
    for i, record in enumerate(records):
        recent = [r[key] for r in records[max(0, i - window + 1) : i + 1] if key in r]
        out.append({**record, key: sum(recent) / len(recent)} if recent else record)
    return out


def _samples(samples: list[dict[str, Any]], spec: ReportSpec) -> str:
    if not samples:
        return "<p>No samples were logged.</p>"
    iterations = sorted({s["iteration"] for s in samples})
    shown = [iterations[0], iterations[-1]] if len(iterations) > 1 else iterations
    out = [f"<p>{html.escape(spec.note)}</p>"]
    for iteration in shown:
        group = [s for s in samples if s["iteration"] == iteration]
        task = html.escape(group[0]["task"]) if group else ""
        out.append(f"<h3>Iteration {iteration}: {task}</h3>")
        for i, traj in enumerate(group):
            outcome = html.escape(traj["outcome"])
            out.append(f'<p>Trajectory {i}: <span class="{outcome}">{outcome}</span></p>')
            out.append(_steps_table(traj["steps"], spec.columns))
    return "\n".join(out)


def _trees(trees: list[dict[str, Any]]) -> str:
    """The first and last logged searched trees, drawn as text (visits, Q, prior, chosen/rejected)."""
    if not trees:
        return ""
    from agentgym.trainers.mcts_dpo import draw_tree

    shown = [trees[0], trees[-1]] if len(trees) > 1 else trees
    out = [
        "<h2>Searched trees</h2><p>Each node: the action into it, its visits N, value Q and prior p; "
        "<em>committed</em> marks the path played, <em>chosen</em>/<em>rejected</em> the "
        "preference pairs.</p>"
    ]
    for tree in shown:
        out.append(f"<h3>Iteration {tree['iteration']}: {html.escape(tree['task'])}</h3>")
        out.append(f"<pre>{html.escape(draw_tree(tree['tree']))}</pre>")
    return "\n".join(out)


def _steps_table(steps: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> str:
    headers = ("t", "observation", "action", "state", "r", *(header for header, _ in columns))
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in headers) + "</tr>"
    rows = []
    for t, s in enumerate(steps):
        action = html.escape(s["action"]) + (" <em>(invalid)</em>" if s["invalid"] else "")
        values = "".join(_num(s[key]) if key in s else "<td></td>" for _, key in columns)
        rows.append(
            f"<tr><td class='num'>{t}</td><td class='obs'>{html.escape(s['observation'])}</td>"
            f"<td>{action}</td><td><code>{html.escape(s['state_key'][:6])}</code></td>"
            f"<td class='num'>{s['reward']:.2f}</td>{values}</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _num(x: float) -> str:
    shade = min(abs(x) / 2.0, 1.0) * 0.5
    colour = f"rgba(24,121,78,{shade:.2f})" if x > 0 else f"rgba(180,35,24,{shade:.2f})"
    return f"<td class='num' style='background:{colour}'>{x:+.2f}</td>"
