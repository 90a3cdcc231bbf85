"""Websockets: this process's readers grouped by page (node, rooms, presence), and the
moderators' live queue, fed from the broker."""
