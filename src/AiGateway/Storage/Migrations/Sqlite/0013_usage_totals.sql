-- Narrow rollup levels beside the hourly and daily rollups per key × model × feature × task × status: per account ×
-- model × status, a summary by day or by model reads a handful of rows per UTC day (daily totals), and a summary by
-- day at a time-zone offset reads the part of each UTC day that belongs to another local day from half hours (every
-- whole- or half-hour offset falls on their edges); per account × task × status, a summary by task reads one row per
-- task a day (daily tasks). The rollup step folds each chunk into all five levels in one transaction from here on.
CREATE TABLE "usage_daily_totals" (
    "account_id" TEXT NOT NULL,
    "day_start" INTEGER NOT NULL,
    "model" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "calls" INTEGER NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "cached_input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "reasoning_tokens" INTEGER NOT NULL,
    "charged_micro" INTEGER NOT NULL,
    "overage_micro" INTEGER NOT NULL,
    CONSTRAINT "PK_usage_daily_totals" PRIMARY KEY ("account_id", "day_start", "model", "status_code")
) WITHOUT ROWID;

CREATE TABLE "usage_daily_tasks" (
    "account_id" TEXT NOT NULL,
    "day_start" INTEGER NOT NULL,
    "task" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "calls" INTEGER NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "cached_input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "reasoning_tokens" INTEGER NOT NULL,
    "charged_micro" INTEGER NOT NULL,
    "overage_micro" INTEGER NOT NULL,
    CONSTRAINT "PK_usage_daily_tasks" PRIMARY KEY ("account_id", "day_start", "task", "status_code")
) WITHOUT ROWID;

CREATE TABLE "usage_halfhour_totals" (
    "account_id" TEXT NOT NULL,
    "half_hour_start" INTEGER NOT NULL,
    "model" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "calls" INTEGER NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "cached_input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "reasoning_tokens" INTEGER NOT NULL,
    "charged_micro" INTEGER NOT NULL,
    "overage_micro" INTEGER NOT NULL,
    CONSTRAINT "PK_usage_halfhour_totals" PRIMARY KEY ("account_id", "half_hour_start", "model", "status_code")
) WITHOUT ROWID;
-- WITHOUT ROWID as usage_rollups (see 0008): one account's days or half hours are one range of the primary key.

-- Filled from what the rollups hold (every call up to the rollup watermark, also calls a retention run has archived
-- and deleted since): the daily totals and tasks from the daily rollups; the half hours first as whole hours in the first half,
-- then the calls (up to the watermark) of each second half moved over. Exact to the half hour wherever the calls are
-- still there, and to the hour in months already archived.
INSERT INTO "usage_daily_totals" (account_id, day_start, model, status_code, calls, input_tokens, cached_input_tokens,
    output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT account_id, day_start, model, status_code, SUM(calls), SUM(input_tokens), SUM(cached_input_tokens), SUM(output_tokens),
    SUM(reasoning_tokens), SUM(charged_micro), SUM(overage_micro)
FROM "usage_daily_rollups"
GROUP BY 1, 2, 3, 4;

INSERT INTO "usage_daily_tasks" (account_id, day_start, task, status_code, calls, input_tokens, cached_input_tokens,
    output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT account_id, day_start, task, status_code, SUM(calls), SUM(input_tokens), SUM(cached_input_tokens), SUM(output_tokens),
    SUM(reasoning_tokens), SUM(charged_micro), SUM(overage_micro)
FROM "usage_daily_rollups"
GROUP BY 1, 2, 3, 4;

INSERT INTO "usage_halfhour_totals" (account_id, half_hour_start, model, status_code, calls, input_tokens, cached_input_tokens,
    output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT account_id, hour_start, model, status_code, SUM(calls), SUM(input_tokens), SUM(cached_input_tokens), SUM(output_tokens),
    SUM(reasoning_tokens), SUM(charged_micro), SUM(overage_micro)
FROM "usage_rollups"
GROUP BY 1, 2, 3, 4;

CREATE TEMP TABLE "second_halves" AS
SELECT account_id, started_at - (started_at % 18000000000) AS half_hour_start, model, status_code, COUNT(*) AS calls,
    SUM(input_tokens) AS input_tokens, SUM(cached_input_tokens) AS cached_input_tokens, SUM(output_tokens) AS output_tokens,
    SUM(reasoning_tokens) AS reasoning_tokens, SUM(charged_micro) AS charged_micro, SUM(overage_micro) AS overage_micro
FROM "call_records"
WHERE started_at % 36000000000 >= 18000000000
    AND id <= (SELECT position FROM "history_watermarks" WHERE name = 'usage_rollups')
GROUP BY 1, 2, 3, 4;

INSERT INTO "usage_halfhour_totals" (account_id, half_hour_start, model, status_code, calls, input_tokens, cached_input_tokens,
    output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT * FROM "second_halves";

INSERT INTO "usage_halfhour_totals" (account_id, half_hour_start, model, status_code, calls, input_tokens, cached_input_tokens,
    output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT account_id, half_hour_start - 18000000000, model, status_code, -calls, -input_tokens, -cached_input_tokens, -output_tokens,
    -reasoning_tokens, -charged_micro, -overage_micro
FROM "second_halves" WHERE true
ON CONFLICT (account_id, half_hour_start, model, status_code) DO UPDATE SET
    calls = "usage_halfhour_totals".calls + excluded.calls,
    input_tokens = "usage_halfhour_totals".input_tokens + excluded.input_tokens,
    cached_input_tokens = "usage_halfhour_totals".cached_input_tokens + excluded.cached_input_tokens,
    output_tokens = "usage_halfhour_totals".output_tokens + excluded.output_tokens,
    reasoning_tokens = "usage_halfhour_totals".reasoning_tokens + excluded.reasoning_tokens,
    charged_micro = "usage_halfhour_totals".charged_micro + excluded.charged_micro,
    overage_micro = "usage_halfhour_totals".overage_micro + excluded.overage_micro;

-- A first half whose calls all moved to the second half holds nothing.
DELETE FROM "usage_halfhour_totals" WHERE calls = 0;

DROP TABLE "second_halves";
