-- Summaries by day at a time-zone offset (issue #17). The half-hourly totals are keyed by (account, model, status,
-- half hour) instead of (account, half hour, model, status): a summary reads the half hours of part of each UTC day
-- for each model and status that day's daily totals list, and in this order each of those is one index range holding
-- exactly the rows it sums (no other half hour, model or status read). Same columns, same rows: the index is rebuilt
-- in place (the rollup step waits for it meanwhile).
ALTER TABLE usage_halfhour_totals DROP CONSTRAINT "PK_usage_halfhour_totals";
ALTER TABLE usage_halfhour_totals ADD CONSTRAINT "PK_usage_halfhour_totals" PRIMARY KEY (account_id, model, status_code, half_hour_start);
