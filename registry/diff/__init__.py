"""The breaking-change engine: pure functions from two documents to findings."""
