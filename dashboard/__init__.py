"""The Streamlit dashboard: the app, its pages and what they draw with (the numbers come from
``analytics``, ``model`` and ``data``). The contracts (state, cached reads, background jobs,
which module a test patches) are in CONTRIBUTING.md, section "dashboard".

Modules, one concern each:

* Entry and server: ``app`` (``streamlit run dashboard/app.py``: the gate, the navigation,
  the pages' error guard), ``serve`` (the same app with its guards in place before the first
  connection), ``startup`` (once per server process), ``upload_guard`` (uploads only from the
  sessions of users who may upload), ``upload_sender`` (an upload only from the user whose
  session it is for), ``trusted_headers`` (no start with ``server.trustedUserHeaders``
  set), ``signin_cookies`` (no request or page run with two different sign-in cookies of
  one name), ``host_signin`` (sign-in cookies set and read as ``__Host-`` cookies, which a
  sibling subdomain cannot plant), ``widget_bounds`` (bounds on widget values before a page runs),
  ``embed_options`` (what a link's ``embed`` options hide, said at the top of the page).
* Pages, one module each in ``dashboard/views/``: ``views/overview.py`` (KPIs, volumes, cost
  to serve), ``views/entities.py`` (entities, competitor mentions against price cuts),
  ``views/pricing.py`` (the what-if), ``views/price_war.py`` (price war and positioning),
  ``views/scenarios.py`` (save, load, compare, share), ``views/signals.py`` (surge alerts,
  customers at risk), ``views/batch_tagging.py`` (upload, tag, download), ``views/audit.py``
  (the audit trail) and ``views/settings.py`` (access lists and data resets), the last two
  for admins. ``whatif_inputs`` holds what the what-if pages ask for (each input's field,
  label, bounds, step, format and help; their tables' column labels).
* ``charts``: the Altair chart builders, one module per page's charts.
* State: ``state`` re-exports ``app_state`` (the store and the jobs, shared by every
  session), ``scenario_state`` (the session's scenario and its URL) and ``actions`` (the
  role-checked, audited writes); ``shared_compute`` (the what-if analyses cached across
  sessions), ``activity`` (whether a page runs: background work gives way),
  ``history_links`` (the browser's Back and Forward on the what-if pages).
* Cached reads: ``queries`` re-exports ``data_versions`` (the versions that key them),
  ``business_queries``, ``entity_queries``, ``market_queries``, ``signal_queries`` and
  ``reset_queries`` (one module per page or area).
* Background work: ``jobs`` re-exports ``tagging_job`` (the tagging job), ``inbox_poller``
  (what command-line jobs hand to the app) and ``job_settings`` (their settings, who acts for
  the app in the audit trail, the tagger).
* Access: ``access`` (the current user, sign-in, ``require``) with ``access_roles``,
  ``access_settings``, ``access_mode`` and ``access_signouts``.
* Page helpers: ``ui`` re-exports ``page_errors`` (the error guard), ``untrusted_text``
  (escaped text, ticket cards, CSV downloads), ``viewer_masking`` (customer data masked for
  viewers), ``formatting`` (numbers, prices, deltas), ``widget_values`` (widget values as a
  page may use them), ``filter_links`` (the sidebar filters in the URL) and
  ``scenario_links`` (what-if inputs read from a link); ``tables`` (column configurations
  with units), ``editor_rows`` (rows of an edited table that lack a value the page needs),
  ``pagelog`` (the page-run timing log).
"""
