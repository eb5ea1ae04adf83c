"""hubctl: the operator CLI of Integration Hub (local stack, services, dev tokens)."""
