"""Opportunity Lab core: all logic, importable and testable without Streamlit."""
