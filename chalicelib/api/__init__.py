"""Everything that knows Chalice: the FRS route wrapper (``http.frs_route``), the
local API Gateway twin and one blueprint per FRS resource (``routes/``)."""
