"""An ingest as a terminal shows it: one progress bar per stage while it runs, a summary when it ends."""
from __future__ import annotations

import sys

from rag.types import IngestReport


def progress_bars():
    """A progress callback drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}
    labels = {"read": "reading", "embed": "embedding chunks"}  # store stages are named by the store

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None and stage.startswith("warc "):  # a web archive: its records, by bytes read
            bar = bars[stage] = tqdm(total=total, desc=f"records of {stage[5:]}", unit="B", unit_scale=True,
                                     file=sys.stderr, leave=True)
        elif bar is None:
            bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), unit="", file=sys.stderr, leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def format_ingest_report(report: IngestReport, index: str) -> str:
    folded = f", {len(report.folded)} folded into the same story from another outlet" if report.folded else ""
    lines = [f"index {index}: {len(report.added)} added, {len(report.replaced)} replaced, "
             f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped{folded} "
             f"({report.chunks_embedded} chunks embedded in {report.seconds:.1f}s)"]
    for label, ids in (("added", report.added), ("replaced", report.replaced), ("unchanged", report.unchanged)):
        if ids:
            lines.append(f"  {label}: {', '.join(ids)}")
    for copy_id, story_id in report.folded:
        lines.append(f"  folded {copy_id} into {story_id} (the same story)")
    for s in report.skipped:
        lines.append(f"  skipped {s.source}: {s.reason}")
    return "\n".join(lines)
