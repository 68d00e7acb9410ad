-- The IANA time zone a user reads and types times in; NULL: the browser's
-- (in the UI), else the installation's. Checked by the runtime against its
-- bundled time-zone database, which a CHECK here could not follow.
ALTER TABLE relata_users ADD COLUMN time_zone TEXT;
