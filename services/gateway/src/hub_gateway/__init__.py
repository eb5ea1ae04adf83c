"""Integration Hub gateway service: API Gateway: credential-injecting edge proxy to provider APIs."""
