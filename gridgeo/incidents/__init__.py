"""The incident loop: reports, policy, flow, escalation, photos, categories."""
