"""The report as one self-contained HTML file and as Markdown, from the same Document.

The HTML embeds its images as data URIs and carries its own few lines of CSS: it opens from
a mail attachment or an air-gapped machine. Every piece of text is escaped here and only
here, whatever the experiment name or a failure message holds.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from tuning.report.content import Document, Section, Table

CSS = """
body { font-family: sans-serif; margin: 1em auto; max-width: 1200px; color: #111;
       line-height: 1.45; padding: 0 1em; }
p, dd, figcaption { overflow-wrap: anywhere; }
h1 { font-size: 1.4em; margin: 0.3em 0; }
h2 { margin-top: 1.4em; border-bottom: 1px solid #999; font-size: 1.25em; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.2em 1.2em; }
dt { font-weight: bold; } dd { margin: 0; }
.answer { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5em;
          align-items: start; }
.answer dl { font-size: 1.05em; } .answer dd:first-of-type { font-size: 1.15em; }
.answer figure { margin: 0; } .answer figure img { max-height: 520px; object-fit: contain; }
details { margin-top: 1.2em; border-top: 1px solid #999; }
summary { cursor: pointer; font-size: 1.25em; font-weight: bold; padding: 0.3em 0; }
.scroll { overflow: auto; max-height: 70vh; max-width: 100%; border: 1px solid #ccc; }
table { border-collapse: separate; border-spacing: 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right;
         vertical-align: top; white-space: nowrap; background: #fff; }
th { position: sticky; top: 0; background: #eee; z-index: 1; }
th:first-child, td:first-child { position: sticky; left: 0; z-index: 2; }
th:first-child { z-index: 3; }
td.text { text-align: left; white-space: normal; min-width: 18em; }
tr.best td { font-weight: bold; background: #e8e8e8; }
tr.tied td:nth-child(4) { font-weight: bold; }
tr.failed td { color: #555; font-style: italic; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #333; }
@media (max-width: 900px) { .answer { grid-template-columns: minmax(0, 1fr); } }
@media (max-width: 600px) { dl { grid-template-columns: minmax(0, 1fr); }
                            dt { margin-top: 0.5em; } body { padding: 0 0.5em; } }
"""
#: A running search's page re-reads itself and swaps its content in place, keeping the
#: reader's scroll position and the sections they opened; where the browser will not let a
#: page opened from the disk read a file, nothing reloads (the note says to reload by hand,
#: or to open it through `steps-tuner serve`). A finished report carries no script.
LIVE_SCRIPT = """<script>
(function () {
  async function update() {
    let text;
    try {
      const reply = await fetch(location.pathname + "?t=" + Date.now(), {cache: "no-store"});
      if (!reply.ok) return;
      text = await reply.text();
    } catch (e) { return; }
    const fresh = new DOMParser().parseFromString(text, "text/html");
    const opened = new Set([...document.querySelectorAll("details[open]")].map(d => d.id));
    const y = window.scrollY;
    document.querySelector("main").replaceWith(fresh.querySelector("main"));
    opened.forEach(id => { const d = document.getElementById(id); if (d) d.open = true; });
    window.scrollTo(0, y);
    if (!fresh.querySelector("script")) clearInterval(timer);
  }
  const timer = setInterval(update, REFRESH_MS);
})();
</script>"""
#: Columns holding free text: left-aligned and allowed to wrap.
TEXT_COLUMNS = ("message", "trial ids")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&#])")


def to_html(doc: Document) -> str:
    """The report as a complete HTML page, images inlined."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',

        f"<title>{_h(doc.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_h(doc.title)}</h1>",
    ]
    parts.append("<main>")
    for section in doc.sections:
        parts += _html_section(section)
    parts.append("</main>")
    if doc.refresh_s:
        parts.append(LIVE_SCRIPT.replace("REFRESH_MS", str(doc.refresh_s * 1000)))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _html_section(section: Section) -> list[str]:
    text = []
    if section.facts:
        text.append("<dl>")
        text += [f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in section.facts]
        text.append("</dl>")
    text += [f"<p>{_h(p)}</p>" for p in section.paragraphs]
    if section.table is not None:
        text += _html_table(section.table)
    figures = [line for plot in section.plots for line in _html_figure(plot)]
    anchor = _h(section.anchor)
    if section.kind == "answer":  # the facts beside the figure on a wide screen
        return [f'<section id="{anchor}" class="answer">', "<div>", *text, "</div>",
                *figures, "</section>"]
    if section.kind == "details":
        return [f'<details id="{anchor}"><summary>{_h(section.title)}</summary>', *text,
                *figures, "</details>"]
    return [f'<h2 id="{anchor}">{_h(section.title)}</h2>', *text, *figures]


def _html_figure(plot) -> list[str]:
    data = base64.b64encode(plot.path.read_bytes()).decode("ascii")
    return [f'<figure id="{_h(plot.name)}">',
            f'<img alt="{_h(plot.title)}" src="data:image/png;base64,{data}">',
            f"<figcaption><b>{_h(plot.title)}.</b> {_h(plot.caption)}</figcaption>",
            "</figure>"]


def _html_table(table: Table) -> list[str]:
    text = {i for i, name in enumerate(table.header) if name in TEXT_COLUMNS}
    parts = ['<div class="scroll"><table>', "<thead><tr>"]
    parts += [f"<th>{_h(name)}</th>" for name in table.header]
    parts.append("</tr></thead><tbody>")
    marks = table.marks or ("",) * len(table.rows)
    for row, mark in zip(table.rows, marks, strict=True):
        cells = "".join(
            f'<td class="text">{_h(c)}</td>' if i in text else f"<td>{_h(c)}</td>"
            for i, c in enumerate(row)
        )
        parts.append(f'<tr class="{mark}">{cells}</tr>' if mark else f"<tr>{cells}</tr>")
    parts.append("</tbody></table></div>")
    return parts


def to_markdown(doc: Document, run_dir: Path) -> str:
    """The same report as Markdown, its images linked relative to the run directory."""
    lines = [f"# {_md(doc.title)}", ""]
    for section in doc.sections:
        lines += [f"## {_md(section.title)}", ""]
        if section.facts:
            lines += [f"- **{_md(k)}**: {_md(v)}" for k, v in section.facts] + [""]
        for paragraph in section.paragraphs:
            lines += [_md(paragraph), ""]
        if section.table is not None:
            lines += _md_table(section.table) + [""]
        for plot in section.plots:
            link = plot.path.relative_to(run_dir).as_posix()
            lines += [f"![{_md(plot.title)}]({link})", "",
                      f"*{_md(plot.title)}.* {_md(plot.caption)}", ""]
    return "\n".join(lines)


def _md_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in table.header) + " |",
             "|" + "|".join("---" for _ in table.header) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in table.rows]
    return lines


def _h(text: str) -> str:
    return html.escape(str(text), quote=True)


def _md(text: str) -> str:
    """Backslash-escape Markdown and HTML syntax; a cell stays on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
