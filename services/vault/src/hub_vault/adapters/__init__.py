"""Adapters to the outside world that are not the database: the keyring file."""
