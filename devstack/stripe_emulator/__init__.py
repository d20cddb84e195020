"""A local stand-in for the Stripe API (dev tool: tests, benchmarks and `make run` point the
official `stripe` SDK at it). Never imported by anything under services/.

Start it with `python -m devstack.stripe_emulator --port N`, or from Python with
`devstack.stripe_emulator.process.start_emulator()`. README.md beside this file lists the API
paths it serves and its `/_emulator/...` control API.
"""
