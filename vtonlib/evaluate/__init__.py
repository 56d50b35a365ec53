"""The evaluation stage (notebook 07, ``vton evaluate``): a folder of results (and a baseline) scored with the
measures of :mod:`vtonlib.metrics`, into ``report.json`` and a self-contained ``report.html``. It sits on
top of the pipeline: it reads what the try-on and the correction wrote."""

from .report import metrics_table, write_html
from .run import evaluate, score_folder

__all__ = ["evaluate", "metrics_table", "score_folder", "write_html"]
