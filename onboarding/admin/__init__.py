"""The onboarding admin: users' onboarding status and action, the runs, and the versioned blueprint."""

from onboarding.admin import blueprints, runs, users

__all__ = ["blueprints", "runs", "users"]
