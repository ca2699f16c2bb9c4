"""Adapters to the services postcart talks to over the network (DESIGN.md, "Workers and integrations")."""
