"""Pure rules of the vault: keyring, envelope encryption, HMAC, access policy. No I/O here."""
