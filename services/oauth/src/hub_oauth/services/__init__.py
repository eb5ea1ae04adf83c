"""Use cases: apps, flows, token storage, refresh, revocation, credential capture."""
