"""SQL of the gateway schema, nothing else."""
