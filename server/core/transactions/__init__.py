"""The database transaction port, in slices: one Protocol per aggregate, so a core function
declares the part of the store it touches (``server.core.ports.Tx`` joins them all)."""
