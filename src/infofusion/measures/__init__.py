"""Information measures: mutual information (``mi``), partial information decomposition
(``pid``) and per-sample quantities (``pointwise``)."""
