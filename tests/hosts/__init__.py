"""A bed of hosts on one machine: network namespaces on a private bridge, and their processes.

``netns`` builds the bridge, the namespaces and their links and injects faults (kill, freeze,
link down, latency and loss); ``wire`` is a userspace link for kernels without ``sch_netem``;
``forward`` and ``broker`` put PostgreSQL and a private Redis on the bridge; ``fleet`` runs
Pinwheel workers and schedulers on such hosts against the fake SendGrid; ``ledger`` checks a
send's deliveries against what the fake received.
"""
