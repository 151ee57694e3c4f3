-- Idempotency keys bound to their request's parameters: a reuse with other parameters is refused (409), not answered
-- with the original. NULL (older rows, internal grants) matches anything.
ALTER TABLE "credit_holds" ADD COLUMN "fingerprint" TEXT NULL;
ALTER TABLE "credit_lots" ADD COLUMN "fingerprint" TEXT NULL;
