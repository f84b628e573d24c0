"""A run's differences as CSV or PDF (the history's *Report* downloads).

One line per component that differs (and per member difference under it); identical
components are counted in the summary, not listed.
"""

import csv
import io
from collections.abc import Iterable

from fpdf import FPDF

from metadiff.compare import STATE_LABELS, State
from metadiff.models import ComponentDifference, DiffRun

CSV_HEADER = ["Type", "Component", "State", "Managed", "Member", "Member state", "Changes"]


def _differing(run: DiffRun) -> Iterable[ComponentDifference]:
    return run.components.exclude(state=State.IDENTICAL).order_by("type", "full_name")


def diff_run_csv(*, run: DiffRun) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in _differing(run):
        base = [row.type, row.full_name, row.state_label, "yes" if row.managed else "no"]
        if not row.members:
            writer.writerow([*base, "", "", ""])
        for member in row.members:
            label = STATE_LABELS[State(member["state"])]
            writer.writerow([*base, member["member"], label, "; ".join(member["changes"])])
    return buffer.getvalue()


def diff_run_pdf(*, run: DiffRun) -> bytes:
    difference = run.difference
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    _line(pdf, f"Org differences: {difference.name}", 8)
    pdf.set_font("Helvetica", size=9)
    _line(pdf, f"Source: {difference.source_org}    Destination: {difference.destination_org}")
    when = run.finished_at or run.created_at
    _line(pdf, f"Run #{run.pk}, {when:%Y-%m-%d %H:%M} UTC, status {run.get_status_display()}")
    _line(pdf, "  ".join(f"{STATE_LABELS[State(k)]}: {v}" for k, v in (run.counts or {}).items()))
    pdf.ln(2)
    current_type = None
    for row in _differing(run):
        if row.type != current_type:
            current_type = row.type
            pdf.set_font("Helvetica", "B", 11)
            pdf.ln(1)
            _line(pdf, current_type, 6)
        pdf.set_font("Helvetica", "B", 9)
        managed = " (managed)" if row.managed else ""
        _line(pdf, f"{row.full_name} - {row.state_label}{managed}")
        pdf.set_font("Helvetica", size=8)
        for member in row.members:
            label = STATE_LABELS[State(member["state"])].lower()
            _line(pdf, f"    {member['member']}: {label}")
            for change in member["changes"]:
                _line(pdf, f"        {change}")
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, height: float = 5) -> None:
    # the core fonts are Latin-1: anything else is replaced rather than failing the report
    safe = text.replace("→", "->").replace("…", "...").encode("latin-1", "replace").decode("latin-1")
    pdf.multi_cell(0, height, safe, new_x="LMARGIN", new_y="NEXT")
