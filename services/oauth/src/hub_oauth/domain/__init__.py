"""Pure OAuth rules: PKCE, state, authorization URLs, token answers per provider profile."""
