"""Functions that are not HTTP routes: ``bulk_import`` (S3 events -> add faces)."""
