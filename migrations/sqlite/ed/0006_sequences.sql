-- Counters of numbered fields (`numbering:` in an entity), one row per
-- entity, field and period ("sales_order.order_number.20261207"): the next
-- number is taken with one atomic upsert in the saving transaction, so two
-- saves never get the same number.
CREATE TABLE relata_sequences (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) STRICT;
