"""Throughput and overhead measurements of Flask-Capture-Link, printed as tables.

``python -m benchmarks`` runs them all (``make bench``) and exits non-zero when a target is not
met; ``python -m benchmarks overhead hung`` runs some. Each module measures one question:

* :mod:`benchmarks.client` -- ``CaptureClient`` (pooled) against ``requests.post`` per call;
* :mod:`benchmarks.overhead` -- the token URL against a bare view that only calls Capture;
* :mod:`benchmarks.naive` -- the token URL against the flow as public sample code writes it,
  on loopback and through :mod:`benchmarks.latency_proxy` (a Capture 20 ms away);
* :mod:`benchmarks.connections` -- connections to Capture after 1,000 links;
* :mod:`benchmarks.hung` -- the site while Capture hangs;
* :mod:`benchmarks.session` -- the session cookie after 100 pages of buttons.

Compared variants run interleaved in one run (A B, B A, ...), so that the noise of a shared
machine falls on both; a ratio is the median of the rounds' ratios. The site runs under
gunicorn (:mod:`benchmarks.site_app`), the emulator in a process of its own
(:mod:`benchmarks.capture_process`); the load generator is
:func:`benchmarks.common.run_threads`.
"""
