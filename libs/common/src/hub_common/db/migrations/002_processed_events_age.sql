-- Consumer dedupe rows are only needed while a redelivery is possible (Kafka's retention):
-- the purge deletes by age, so it needs the age indexed.
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
