"""`make audit`: Lighthouse scores of built pages (a report, not a test)."""
