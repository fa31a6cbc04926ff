"""batchproxy: apply Amazon Chime SDK Voice Connector proxy settings to many connectors at once.

The flow of one row, module by module:

    cli (options -> RunConfig)  ->  job (prepare -> execute -> finish)
        ->  input (read + validate)  ->  engine (rate domains, shared workers, retry, send seam)
        ->  operations (what a command sends, and where its outcomes go)
        ->  journal (results, failure report, resume)  ->  report (progress, summary)

``batchproxy.emulator`` is a local Chime SDK Voice endpoint that shares only ``batchproxy.model`` with
the client side.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
