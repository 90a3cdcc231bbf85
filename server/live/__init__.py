"""Websockets: this process's readers, grouped by page, fed from the broker."""
