"""The FRS operations, with no Chalice import: face sets, faces, search,
detection and compare, and the request helpers they share (``params``,
``fields``, ``media``, ``ids``)."""
