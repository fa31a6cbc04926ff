"""batchproxy: apply Amazon Chime SDK Voice Connector proxy settings to many connectors at once.

The flow of one row, module by module:

    input (read + validate)  ->  scheduler (rate + concurrency)  ->  operations (one API call)
        ->  retry (classify, back off)  ->  journal (results, failure report, resume)  ->  summary

``batchproxy.emulator`` is a local Chime SDK Voice endpoint that shares only ``batchproxy.model`` with
the client side.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
