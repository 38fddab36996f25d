-- What a tenant wants when a publish's outcome is unknown and the platform cannot be searched
-- (Telegram): 'unknown' leaves the delivery for an operator (never posted twice), 'republish'
-- sends it again and accepts a possible duplicate. NULL: the deployment's default
-- (worker.unknown_outcome).
ALTER TABLE tenants
    ADD COLUMN unknown_outcome text CHECK (unknown_outcome IN ('unknown', 'republish'));
