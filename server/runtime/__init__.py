"""What ties Threadline to uvicorn's and Starlette's internals, in one place.

The HTTP and websocket protocol subclasses, uvicorn's options, the log filters on uvicorn's
loggers, the JSON log format and the garbage-collector tuning all lean on details those
projects do not promise to keep; tests/test_runtime_versions.py pins the versions they were
written against, so an upgrade is a deliberate step with this folder read again."""
