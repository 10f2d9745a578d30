"""Development sandbox: personas, secrets and seed data. Never used in production."""
