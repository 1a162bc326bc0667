"""Release tooling: render the Helm chart, install or upgrade it, verify the rollout, roll back."""
