-- Usage rollups per UTC day beside the hourly ones: a summary reads days for the whole days of its range and hours
-- only at its ends (6 months of a heavy account: ~24 times fewer rows). Filled here from the hourly rollups, which
-- hold exactly the calls up to the rollup watermark; from now on the rollup step folds each chunk into both levels in
-- one transaction, so both always stand at the same watermark.
CREATE TABLE "usage_daily_rollups" (
    "account_id" TEXT NOT NULL,
    "day_start" INTEGER NOT NULL,
    "key_id" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "feature" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "calls" INTEGER NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "cached_input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "reasoning_tokens" INTEGER NOT NULL,
    "charged_micro" INTEGER NOT NULL,
    "overage_micro" INTEGER NOT NULL,
    CONSTRAINT "PK_usage_daily_rollups" PRIMARY KEY ("account_id", "day_start", "key_id", "model", "feature", "task", "status_code")
) WITHOUT ROWID;
-- WITHOUT ROWID as usage_rollups (see 0008): one account's days are one range of the primary key.

INSERT INTO "usage_daily_rollups" (account_id, day_start, key_id, model, feature, task, status_code, calls, input_tokens,
    cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT account_id, hour_start - (hour_start % 864000000000), key_id, model, feature, task, status_code, SUM(calls), SUM(input_tokens),
    SUM(cached_input_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(charged_micro), SUM(overage_micro)
FROM "usage_rollups"
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- The all-accounts usage export from a start time reads calls in (started_at, id) order.
CREATE INDEX "IX_call_records_started_at_id" ON "call_records" ("started_at", "id");
