-- Storage per call (issue #17): every GUID column holds a 16-byte BLOB instead of the 36-char upper-case TEXT EF
-- Core wrote (account and key ids repeat in calls, movements, charges, holds, rollups and their indexes: real
-- traffic 1,074 -> 835 B per call, bench/README.md). The bytes are the text's 32 hex digits in order,
-- unhex(text, '-') (big-endian, RFC 9562; Storage/SqliteGuid.cs is the one definition the app binds and reads), so
-- BLOB order equals the old text order. The columns keep their declared TEXT type: a BLOB stays a BLOB in a TEXT-
-- affinity column, and a new declared type would rebuild every table. Anything but a 36-char text GUID becomes NULL
-- and fails the NOT NULL constraint, which rolls the migration back. The other indexes on these columns are dropped
-- before the bulk updates and built again afterwards: one sorted build instead of moving every entry, and packed
-- pages instead of half-empty ones. Foreign keys are checked at commit, when parents and children are converted
-- alike.
PRAGMA defer_foreign_keys = ON;
-- Accounts first, while the indexes on the referencing columns still exist: SQLite checks the rows referring to each
-- changed key through them (without them, every account scanned every movement and charge).
UPDATE "accounts" SET "id" = CASE WHEN typeof("id") = 'text' AND length("id") = 36 THEN unhex("id", '-') END;

DROP INDEX "IX_call_records_account_id_feature_id";
DROP INDEX "IX_call_records_account_id_id";
DROP INDEX "IX_call_records_account_id_started_at";
DROP INDEX "IX_call_records_account_id_task_id";
DROP INDEX "IX_credit_charges_account_id";
DROP INDEX "IX_credit_holds_account_id_task";
DROP INDEX "IX_credit_lots_account_id_expires_at";
DROP INDEX "IX_credit_lots_account_id_idempotency_key";
DROP INDEX "IX_gateway_keys_account_id";
DROP INDEX "IX_ledger_entries_account_id_id";
DROP INDEX "IX_ledger_entries_account_id_type_id";
DROP INDEX "IX_notification_events_account_id_created_at";
DROP INDEX "IX_notification_events_account_id_type_episode";

UPDATE "gateway_keys" SET "id" = CASE WHEN typeof("id") = 'text' AND length("id") = 36 THEN unhex("id", '-') END, "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "ledger_accounts" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "credit_lots" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "credit_holds" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "credit_charges" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "credit_leases" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "ledger_entries" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "task_budgets" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "video_jobs" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "notification_accounts" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "notification_events" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "call_records" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END, "key_id" = CASE WHEN typeof("key_id") = 'text' AND length("key_id") = 36 THEN unhex("key_id", '-') END;
UPDATE "usage_rollups" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END, "key_id" = CASE WHEN typeof("key_id") = 'text' AND length("key_id") = 36 THEN unhex("key_id", '-') END;
UPDATE "usage_daily_rollups" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END, "key_id" = CASE WHEN typeof("key_id") = 'text' AND length("key_id") = 36 THEN unhex("key_id", '-') END;
UPDATE "usage_daily_totals" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "usage_daily_tasks" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;
UPDATE "usage_halfhour_totals" SET "account_id" = CASE WHEN typeof("account_id") = 'text' AND length("account_id") = 36 THEN unhex("account_id", '-') END;

CREATE INDEX "IX_call_records_account_id_feature_id" ON "call_records" ("account_id", "feature", "id") WHERE feature IS NOT NULL;
CREATE INDEX "IX_call_records_account_id_id" ON "call_records" ("account_id", "id");
CREATE INDEX "IX_call_records_account_id_started_at" ON "call_records" ("account_id", "started_at");
CREATE INDEX "IX_call_records_account_id_task_id" ON "call_records" ("account_id", "task", "id") WHERE task IS NOT NULL;
CREATE INDEX "IX_credit_charges_account_id" ON "credit_charges" ("account_id");
CREATE INDEX "IX_credit_holds_account_id_task" ON "credit_holds" ("account_id", "task");
CREATE INDEX "IX_credit_lots_account_id_expires_at" ON "credit_lots" ("account_id", "expires_at");
CREATE UNIQUE INDEX "IX_credit_lots_account_id_idempotency_key" ON "credit_lots" ("account_id", "idempotency_key");
CREATE INDEX "IX_gateway_keys_account_id" ON "gateway_keys" ("account_id");
CREATE INDEX "IX_ledger_entries_account_id_id" ON "ledger_entries" ("account_id", "id");
CREATE INDEX "IX_ledger_entries_account_id_type_id" ON "ledger_entries" ("account_id", "type", "id");
CREATE INDEX "IX_notification_events_account_id_created_at" ON "notification_events" ("account_id", "created_at");
CREATE UNIQUE INDEX "IX_notification_events_account_id_type_episode" ON "notification_events" ("account_id", "type", "episode");
