-- Owner: the alerts service. Per partition of the alerts topic, the last message the broker acknowledged
-- (its offset and idempotency key). A broker that lost its data no longer holds it there: the Kafka
-- deliveries are then made again (their consumers drop a repeat by the idempotency key).
CREATE TABLE alerts_topic_marks (
    topic           text    NOT NULL,
    kafka_partition integer NOT NULL,
    last_offset     bigint  NOT NULL,
    idempotency_key text    NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);
