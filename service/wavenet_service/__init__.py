"""The synthesis server: FastAPI routes over batched, streaming WaveNet generation.

| module        | what it holds                                                               |
|---------------|-----------------------------------------------------------------------------|
| ``app``       | ``create_app``: routers, middleware and error handlers around the engines   |
| ``routes/``   | the routes: synthesis, models, health and metrics, the web page             |
| ``engine``    | one model's generation loop: batching, backpressure, restarts              |
| ``streaming`` | the streamed WAV response: disconnects, stalled clients, errors before audio |
| ``registry``  | the served models by name; streams per client                               |
| ``server``    | ``wavenet serve``: uvicorn on a listening socket with its options; exit status |
| ``settings``, ``schemas``, ``deps``, ``errors``, ``middleware``, ``metrics``, ``wav`` | what their names say |

The library (:mod:`wavenet`) never imports this package, except the ``wavenet serve`` command.
"""
