"""Reports: tables (Markdown/HTML) and plots built from result records, never from console output."""

from infofusion.report.tables import (
    group_records,
    headline_metrics,
    html_table,
    markdown_table,
    summarize,
)

__all__ = ["group_records", "headline_metrics", "html_table", "markdown_table", "summarize"]
