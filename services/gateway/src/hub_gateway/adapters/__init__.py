"""Everything that talks to the outside: providers, Redis, Kafka, the other hub services."""
