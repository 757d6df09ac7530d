"""In-process servers for the services around the app, for tests and benchmarks.

Small threaded HTTP servers on 127.0.0.1 that record every request and can be scripted
(`stub_server`, `recording`), around the simulators' models in `devhost.simulate`: the Slack
Web API (`slack_stub`), cache-flush (`cache_flush`), and Slack's requests to the app, signed
as Slack signs them (`slack_requests`); and devhost's own durable HTTP API over its store,
its orchestrations held still (`durable_api`). They run inside the test or benchmark process.
"""
