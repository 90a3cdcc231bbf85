"""Non-API HTTP: the widget script, the demo page, health probes, error pages."""
