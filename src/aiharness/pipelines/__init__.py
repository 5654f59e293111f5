"""ML pipelines for plant data: datasets, runs of steps on the job system, an inbound watcher."""
