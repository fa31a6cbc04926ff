"""The engine: carries rows to outcomes under the rate and concurrency ceilings, never naming an operation.

domains    one ``RateDomain`` per (profile, region): its client, limiter, breaker, queue and counters
scheduler  one shared pool of ``--concurrency`` workers, waves, stopping, skipped rows
caller     one row's requests: rate permit, send, classify, retry
breaker    when a domain stops: credentials refused, expired or revoked, endpoint unreachable
outcomes   the outcome a row ends with (ok, failed, skipped), from what its caller saw
transport  the send seam: the production ``Send`` wraps an aioboto3 client
retry      which failures are retried, how long to wait, and for how long in all (the budget)
ratelimit  the adaptive (CUBIC-style) limiter of one domain
bucket     the fair token bucket under it, and the injectable clock
queue      a domain's row queue, spilling to a temporary file when it runs ahead
rollout    canary, waves, pauses, approval and the failure threshold
stats      live counters of a run and of each domain
"""
