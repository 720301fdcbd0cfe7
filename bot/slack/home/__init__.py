"""The bot's Home tab: what it shows each person, and when it is published.

- ``members``  which channels a person is in (``users.conversations``), kept a while
- ``content``  what one person's Home shows, read from the store and what the bot already
               knows (never a provider request): :class:`bot.slack.render.home.HomeContent`
- ``tab``      :class:`HomeTab`: publish a Home now (opened, a button pressed on it) or
               later (an incident opened or resolved: debounced per person, paced under
               Slack's rate limit for ``views.publish``)

The view itself is rendered by :mod:`bot.slack.render.home`; the event and the Home's own
buttons are handled in :mod:`bot.slack.listeners.home`.
"""
