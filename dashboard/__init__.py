"""The Streamlit dashboard (arrives with its own issue)."""
