"""Pure Block Kit builders: domain objects in, ``slack_sdk.models`` blocks and views out.

Nothing here does I/O or reads the clock (``now`` is passed in). Provider and user text is
escaped for mrkdwn here, once, with :func:`bot.slack.render.text.escape` — a message's
``text`` included; callers hand over plain data and sentences. Whatever the data (10,000
character names, thousands of jobs), what comes out stays inside Block Kit's limits: mrkdwn
is shortened with :func:`bot.slack.render.text.fit`, which never cuts a link, a mention or an
escaped character in two; ``tests/slack/test_render_limits.py`` renders every builder from
hostile data and checks the limits slack_sdk does not. Action, callback and block ids
live in :mod:`bot.slack.render.ids`, shared with the listeners; button values and modal
metadata are small pydantic models serialised as JSON. Modules:

- ``ids``        action/callback/block ids; JobValue, PageValue, IncidentValue, ModalMeta
- ``text``       mrkdwn pieces: Slack dates, escaping, refs, icons, schedule words, durations
- ``conceal``    what is never shown in full: monitor codes (8 characters), credentials in
                 URLs, commands and manifests
- ``jobs``       card, history, delete confirmation and their texts (re-exports the lists,
                 change_text and the plain messages)
- ``lists``      `/cron list` pages
- ``changes``    what the bot says about a change: announcement, audit post, timed resumes
- ``problems``   what the bot says when it cannot: refusals, pick-lists, typos, provider errors
- ``status``     `/cron status`
- ``home``       the bot's Home tab: failing, paused and muted jobs, subscriptions, accounts
- ``messages``   notices, errors, help; packing long text into sections
- ``modals``     create/edit job, Cronhub kind picker, Miget add-on, progress/result views
- ``job_fields`` modal inputs per provider and job kind
- ``inputs``     one helper per Block Kit input element

Reading what a submitted modal says is not rendering: that is :mod:`bot.slack.forms`.
"""
