-- Usage rollups per UTC day beside the hourly ones: a summary reads days for the whole days of its range and hours
-- only at its ends (6 months of a heavy account: ~24 times fewer rows). Filled here from the hourly rollups, which
-- hold exactly the calls up to the rollup watermark; from now on the rollup step folds each chunk into both levels in
-- one transaction, so both always stand at the same watermark. The watermark row is locked first, so a rollup step
-- running meanwhile on another instance waits for this copy.
CREATE TABLE usage_daily_rollups (
    account_id uuid NOT NULL,
    day_start bigint NOT NULL,
    key_id uuid NOT NULL,
    model character varying(200) NOT NULL,
    feature character varying(100) NOT NULL,
    task character varying(200) NOT NULL,
    status_code integer NOT NULL,
    calls bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    charged_micro bigint NOT NULL,
    overage_micro bigint NOT NULL,
    CONSTRAINT "PK_usage_daily_rollups" PRIMARY KEY (account_id, day_start, key_id, model, feature, task, status_code)
);

SELECT position FROM history_watermarks WHERE name = 'usage_rollups' FOR UPDATE;

INSERT INTO usage_daily_rollups (account_id, day_start, key_id, model, feature, task, status_code, calls, input_tokens,
    cached_input_tokens, output_tokens, reasoning_tokens, charged_micro, overage_micro)
SELECT account_id, hour_start - (hour_start % 864000000000), key_id, model, feature, task, status_code, SUM(calls), SUM(input_tokens),
    SUM(cached_input_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(charged_micro), SUM(overage_micro)
FROM usage_rollups
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- The all-accounts usage export from a start time reads calls in (started_at, id) order.
CREATE INDEX "IX_call_records_started_at_id" ON call_records (started_at, id);
