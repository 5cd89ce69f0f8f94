"""Slack's entry points, one module per kind, each with a ``register(app)`` called by ``bot.slack.app.build_app``.

``commands`` (``/headless``) · ``actions`` (buttons, the form's live input) · ``views`` (form submissions) ·
``shortcuts``. Every handler is a module-level ``async def handle_…(ack, …, deps: SlackDeps)``: it acks first,
reads the payload, calls a service and renders the result; the rules live in ``bot.services``.
"""
