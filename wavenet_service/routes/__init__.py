"""The HTTP routes, one router per concern; :func:`wavenet_service.app.create_app` assembles them."""

from wavenet_service.routes import conditioned, health, models, page, synthesis

ROUTERS = [synthesis.router, conditioned.router, models.router, health.router, page.router]
