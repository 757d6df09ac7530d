"""In-process stand-ins for the services around the app, for tests and benchmarks.

Threaded HTTP servers on 127.0.0.1 that record every request and answer as scripted
(`stub_server`), a Slack Web API stand-in (`slack_stub`), and Slack's requests to the app,
signed as Slack signs them (`slack_requests`). Unlike the simulators in `devhost.simulate`,
they run inside the test or benchmark process and know nothing of devhost.
"""
