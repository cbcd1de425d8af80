-- Owner: the relay (services/relay/).

-- How far the relay has published, and the last broker offset it saw acknowledged per partition
-- (an end offset below that later means the broker lost its data and must be refilled).
CREATE TABLE relay_state (
    topic             text   PRIMARY KEY,
    position          bigint NOT NULL,
    partition_offsets jsonb  NOT NULL DEFAULT '{}'
);
