"""Queue consumers. Each records (consumer, event key) in processed_events in the same tenant
transaction as its effect, then acks: a redelivered event finds its key and does nothing."""
