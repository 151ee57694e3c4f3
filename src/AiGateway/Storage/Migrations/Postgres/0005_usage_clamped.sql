-- Call records flag usage the gateway cut to what the request allowed (or a no-debt plan's charge cut to its hold).
ALTER TABLE call_records ADD COLUMN usage_clamped boolean NOT NULL DEFAULT false;
