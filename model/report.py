"""One self-contained HTML report of a sweep: comparison table, effect chart, outcome paths,
breakdowns by firm kind and sector, failed runs and provenance. Images are embedded as base64 PNG,
so the file can be mailed or archived on its own."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import analysis, plots
from .store import atomic_write

PATH_OUTCOMES: tuple[str, ...] = ("little_giants", "unicorns", "employment", "revenue",
                                  "fiscal_cost", "exits")

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { padding: .3em .6em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.note { font-size: .85em; color: #555; } img { max-width: 100%; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .8em; }
"""


def _img(fig: Any, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _breakdown_html(frame: pd.DataFrame, by: str) -> str:
    frame = frame.copy()
    frame["effect"] = [analysis.effect_cell(r) for _, r in frame.iterrows()]
    wide = frame.pivot_table(index=[by], columns=["measure", "policy"], values="effect",
                             aggfunc="first", sort=False)
    return wide.to_html(classes="breakdown", border=0)


def _provenance(res: analysis.Results) -> str:
    m = res.manifest
    keys = [k for k in ("name", "created", "scenario_hash", "root_seed", "git_commit", "executor")
            if k in m]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(m[k]))}</td></tr>"
                   for k in keys)
    versions = m.get("versions")
    versions = versions if isinstance(versions, dict) else {}  # any other value: in the full manifest
    rows += "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in versions.items())
    full = html.escape(json.dumps(m, indent=2, default=str))
    return (f"<table>{rows}</table><details><summary>full manifest</summary><pre>{full}</pre>"
            "</details>")


def write_report(source: Any, out_html: str | Path, baseline: str = "baseline",
                 outcomes: Sequence[str] | None = None) -> Path:
    """Write the HTML report of results folder ``source`` to ``out_html``; return its path."""
    res = analysis.as_results(source)
    baseline = analysis.baseline_of(res, baseline)
    table = analysis.compare(res, baseline=baseline, outcomes=outcomes)
    title = res.manifest.get("name") or (res.path.name if res.path else "sweep")
    ok, failed = res.ok_runs, res.failed_runs
    parts = [f"<h1>Policy lever comparison: {html.escape(str(title))}</h1>",
             f"<p>{len(ok)} successful runs, {len(failed)} failed; policies: "
             f"{html.escape(', '.join(res.policies))}; baseline <b>{html.escape(baseline)}</b>; "
             f"{int(ok['replicate'].nunique())} replicates, {int(ok['sample'].nunique())} "
             "uncertainty samples.</p>",
             "<h2>Effects and cost-effectiveness</h2>",
             analysis.format_table(table, "html", baseline),
             "<h2>Effect chart</h2>", _img(plots.plot_effects(table), "effect chart")]
    if res.timeseries is not None:
        names = [o for o in PATH_OUTCOMES if o in res.timeseries.columns]
        if names:
            parts += ["<h2>Outcome paths</h2>",
                      _img(plots.plot_paths(res, names, baseline=baseline), "outcome paths"),
                      "<h2>Effects over time</h2>",
                      _img(plots.plot_effect_paths(res, names, baseline=baseline), "effect paths")]
    for by, heading in (("kind", "By firm kind (end-of-horizon counts)"),
                        ("sector", "By sector (revenue and new unicorns over the horizon)")):
        try:
            parts += [f"<h2>{heading}</h2>",
                      _breakdown_html(analysis.breakdown(res, by, baseline), by)]
        except analysis.ResultsError as exc:
            parts += [f"<p class='note'>{html.escape(str(exc))}</p>"]
    if len(failed):
        err = failed[[c for c in ("run_id", "policy", "sample", "replicate", "seed", "error")
                      if c in failed.columns]]
        parts += ["<h2>Failed runs</h2>", err.to_html(index=False, border=0)]
    parts += ["<h2>Provenance</h2>", _provenance(res)]
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(str(title))}"
           f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: tmp.write_text(doc, encoding="utf-8"))
    return out
