"""Evidence: claims and data points, the citations that back them, quote checks and citation reports.

Builds on `archiver` (sources and captures); `archiver` never imports from here.
"""
