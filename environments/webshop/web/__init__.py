"""Web mode: the shop served over HTTP (:mod:`.app`, :mod:`.server`)."""
