"""Use cases of the Integration Manager; each request or consumed event is one transaction."""
