"""The HTTP routes, one router per concern; :func:`wavenet_service.app.create_app` assembles them."""

from wavenet_service.routes import health, models, openai, page, synthesize, uploads

ROUTERS = [synthesize.router, uploads.router, models.router, openai.router, health.router, page.router]
