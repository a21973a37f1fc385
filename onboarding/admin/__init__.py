"""The onboarding admin: users' onboarding status and action, the runs, the blueprint and its roll-outs."""

from onboarding.admin import blueprints, rollouts, runs, users

__all__ = ["blueprints", "rollouts", "runs", "users"]
