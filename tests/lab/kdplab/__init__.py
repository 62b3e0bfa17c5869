"""kdp-lab: a local stand-in for a Kubernetes cluster used by kdp's tests."""
