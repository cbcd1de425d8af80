-- Owner: the relay (services/relay/). What it publishes about itself: how far it has published each topic
-- and, per partition, the last offset the broker acknowledged with the position of the event there. The
-- projector's catch-up reads it to know which part of the store the ledger already holds.
CREATE VIEW relay_progress AS
    SELECT topic, position, partition_offsets FROM relay_state;

SELECT pim_grant_service();
