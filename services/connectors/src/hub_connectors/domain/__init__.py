"""Pure rules of the Integration Manager: states, license tiers, credentials, hosts, audit."""
