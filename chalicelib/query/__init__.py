"""The filter language: ``ast`` (node and field types, no dependencies) and
``parse`` (the grammar, lark)."""
