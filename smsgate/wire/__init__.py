"""The Infobip wire shapes, shared by the HTTP API and the webhooks: stored rows rendered per API
generation, and XML in and out."""
