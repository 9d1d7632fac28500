"""Event ingestion and correlation of inventory transactions (arrives with its own issue)."""
