"""The offline Coinbase-compatible exchange: same paths, status codes and JSON as the real public REST API.

Modules: ``server`` (HTTP, control endpoint, :class:`~crypto_insights.exchange.server.ExchangeServer`),
``market`` (generated mode) over ``book_model`` / ``level_profile`` / ``sizes`` (the evolving books),
``tape`` (takers walking the books: the trade tape and its record) and ``candles`` (candles and 24 h stats from
the tape), ``replay`` (captured bodies), ``faults``, ``throttle`` (per-IP rate limit), ``wire`` (number and time
formats), ``catalog`` (product and currency objects), ``cli`` (``crypto-insights exchange``).
"""
