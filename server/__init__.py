"""Drift Monitoring server: grpc.aio services over MongoEngine."""
