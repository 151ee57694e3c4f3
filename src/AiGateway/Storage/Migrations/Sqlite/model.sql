CREATE TABLE "accounts" (
    "id" TEXT NOT NULL CONSTRAINT "PK_accounts" PRIMARY KEY,
    "name" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL,
    "plan" TEXT NULL
);


CREATE TABLE "call_records" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_call_records" PRIMARY KEY AUTOINCREMENT,
    "request_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "key_id" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "priced_model" TEXT NULL,
    "operation" TEXT NOT NULL,
    "stream" INTEGER NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "cached_input_tokens" INTEGER NOT NULL,
    "cache_write_input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "reasoning_tokens" INTEGER NOT NULL,
    "images" INTEGER NOT NULL,
    "video_seconds" INTEGER NOT NULL,
    "audio_uses" INTEGER NOT NULL,
    "estimated_input_tokens" INTEGER NOT NULL,
    "estimated_output_tokens" INTEGER NOT NULL,
    "estimate_micro" INTEGER NOT NULL,
    "charged_micro" INTEGER NOT NULL,
    "overage_micro" INTEGER NOT NULL,
    "status_code" INTEGER NOT NULL,
    "usage_source" TEXT NOT NULL,
    "clamped" INTEGER NOT NULL,
    "unlimited" INTEGER NOT NULL,
    "attempt_count" INTEGER NOT NULL,
    "attempts" TEXT NULL,
    "error" TEXT NULL,
    "feature" TEXT NULL,
    "task" TEXT NULL,
    "started_at" INTEGER NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "first_byte_ms" INTEGER NULL,
    "usage_clamped" INTEGER NOT NULL
);


CREATE TABLE "history_watermarks" (
    "name" TEXT NOT NULL CONSTRAINT "PK_history_watermarks" PRIMARY KEY,
    "position" INTEGER NOT NULL,
    "updated_at" INTEGER NOT NULL
);


CREATE TABLE "lease_admissions" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_lease_admissions" PRIMARY KEY AUTOINCREMENT,
    "instance_id" TEXT NOT NULL,
    "expires_at" INTEGER NOT NULL,
    "records" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL
);


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
);


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
);


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
);


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
    CONSTRAINT "PK_usage_halfhour_totals" PRIMARY KEY ("account_id", "model", "status_code", "half_hour_start")
);


CREATE TABLE "usage_rollups" (
    "account_id" TEXT NOT NULL,
    "hour_start" INTEGER NOT NULL,
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
    CONSTRAINT "PK_usage_rollups" PRIMARY KEY ("account_id", "hour_start", "key_id", "model", "feature", "task", "status_code")
);


CREATE TABLE "credit_charges" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_credit_charges" PRIMARY KEY AUTOINCREMENT,
    "account_id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "hold_id" INTEGER NULL,
    "amount" INTEGER NOT NULL,
    "overage" INTEGER NOT NULL,
    "created_at" INTEGER NOT NULL,
    CONSTRAINT "FK_credit_charges_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "credit_holds" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_credit_holds" PRIMARY KEY AUTOINCREMENT,
    "account_id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL,
    "expires_at" INTEGER NOT NULL,
    "resolved_at" INTEGER NULL,
    "charge_id" INTEGER NULL,
    "task" TEXT NULL,
    "fingerprint" TEXT NULL,
    CONSTRAINT "FK_credit_holds_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "credit_leases" (
    "account_id" TEXT NOT NULL,
    "instance_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "expires_at" INTEGER NOT NULL,
    "backed_until" INTEGER NOT NULL,
    "recall" INTEGER NOT NULL,
    "updated_at" INTEGER NOT NULL,
    CONSTRAINT "PK_credit_leases" PRIMARY KEY ("account_id", "instance_id"),
    CONSTRAINT "FK_credit_leases_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "credit_lots" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_credit_lots" PRIMARY KEY AUTOINCREMENT,
    "account_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "remaining" INTEGER NOT NULL,
    "consumed" INTEGER NOT NULL,
    "expired" INTEGER NOT NULL,
    "revoked" INTEGER NOT NULL,
    "effective_at" INTEGER NOT NULL,
    "expires_at" INTEGER NULL,
    "reason" TEXT NOT NULL,
    "source_ref" TEXT NULL,
    "idempotency_key" TEXT NULL,
    "model_scope" TEXT NULL,
    "modality_scope" TEXT NULL,
    "fingerprint" TEXT NULL,
    "created_at" INTEGER NOT NULL,
    CONSTRAINT "FK_credit_lots_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "gateway_keys" (
    "id" TEXT NOT NULL CONSTRAINT "PK_gateway_keys" PRIMARY KEY,
    "account_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL,
    "revoked_at" INTEGER NULL,
    "last_used_at" INTEGER NULL,
    CONSTRAINT "FK_gateway_keys_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "ledger_accounts" (
    "account_id" TEXT NOT NULL CONSTRAINT "PK_ledger_accounts" PRIMARY KEY,
    "held" INTEGER NOT NULL,
    "overage" INTEGER NOT NULL,
    "updated_at" INTEGER NOT NULL,
    CONSTRAINT "FK_ledger_accounts_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "ledger_entries" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_ledger_entries" PRIMARY KEY AUTOINCREMENT,
    "account_id" TEXT NOT NULL,
    "at" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "available_after" INTEGER NOT NULL,
    "lot_id" INTEGER NULL,
    "hold_id" INTEGER NULL,
    "charge_id" INTEGER NULL,
    "request_id" TEXT NULL,
    "note" TEXT NULL,
    CONSTRAINT "FK_ledger_entries_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "notification_accounts" (
    "account_id" TEXT NOT NULL CONSTRAINT "PK_notification_accounts" PRIMARY KEY,
    "low_balance_micro" INTEGER NULL,
    "low_balance_percent" INTEGER NULL,
    "expiring_within_days" INTEGER NULL,
    "events" TEXT NULL,
    "last_grant" INTEGER NOT NULL,
    "low_armed" INTEGER NOT NULL,
    "low_episode" INTEGER NOT NULL,
    "exhausted_armed" INTEGER NOT NULL,
    "exhausted_episode" INTEGER NOT NULL,
    "updated_at" INTEGER NOT NULL,
    CONSTRAINT "FK_notification_accounts_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "notification_events" (
    "id" TEXT NOT NULL CONSTRAINT "PK_notification_events" PRIMARY KEY,
    "account_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "episode" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL,
    CONSTRAINT "FK_notification_events_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "task_budgets" (
    "account_id" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "budget_micro" INTEGER NOT NULL,
    "created_at" INTEGER NOT NULL,
    "updated_at" INTEGER NOT NULL,
    CONSTRAINT "PK_task_budgets" PRIMARY KEY ("account_id", "task"),
    CONSTRAINT "FK_task_budgets_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "video_jobs" (
    "account_id" TEXT NOT NULL,
    "video_id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "cost_micro" INTEGER NOT NULL,
    "priced_model" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL,
    "resolved_at" INTEGER NULL,
    "outcome" TEXT NULL,
    "cluster" TEXT NULL,
    CONSTRAINT "PK_video_jobs" PRIMARY KEY ("account_id", "video_id"),
    CONSTRAINT "FK_video_jobs_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);


CREATE TABLE "credit_hold_records" (
    "hold_id" INTEGER NOT NULL CONSTRAINT "PK_credit_hold_records" PRIMARY KEY,
    "record" TEXT NOT NULL,
    CONSTRAINT "FK_credit_hold_records_credit_holds_hold_id" FOREIGN KEY ("hold_id") REFERENCES "credit_holds" ("id") ON DELETE CASCADE
);


CREATE TABLE "charge_allocations" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_charge_allocations" PRIMARY KEY AUTOINCREMENT,
    "charge_id" INTEGER NOT NULL,
    "lot_id" INTEGER NULL,
    "amount" INTEGER NOT NULL,
    CONSTRAINT "FK_charge_allocations_credit_charges_charge_id" FOREIGN KEY ("charge_id") REFERENCES "credit_charges" ("id") ON DELETE CASCADE,
    CONSTRAINT "FK_charge_allocations_credit_lots_lot_id" FOREIGN KEY ("lot_id") REFERENCES "credit_lots" ("id")
);


CREATE TABLE "notification_deliveries" (
    "id" INTEGER NOT NULL CONSTRAINT "PK_notification_deliveries" PRIMARY KEY AUTOINCREMENT,
    "event_id" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "next_attempt_at" INTEGER NOT NULL,
    "lease_until" INTEGER NOT NULL,
    "lease_owner" TEXT NULL,
    "last_status" INTEGER NULL,
    "last_error" TEXT NULL,
    "delivered_at" INTEGER NULL,
    "created_at" INTEGER NOT NULL,
    CONSTRAINT "FK_notification_deliveries_notification_events_event_id" FOREIGN KEY ("event_id") REFERENCES "notification_events" ("id") ON DELETE CASCADE
);


CREATE INDEX "IX_call_records_account_id_feature_id" ON "call_records" ("account_id", "feature", "id") WHERE feature IS NOT NULL;


CREATE INDEX "IX_call_records_account_id_id" ON "call_records" ("account_id", "id");


CREATE INDEX "IX_call_records_account_id_started_at" ON "call_records" ("account_id", "started_at");


CREATE INDEX "IX_call_records_account_id_task_id" ON "call_records" ("account_id", "task", "id") WHERE task IS NOT NULL;


CREATE UNIQUE INDEX "IX_call_records_request_id" ON "call_records" ("request_id");


CREATE INDEX "IX_call_records_started_at_id" ON "call_records" ("started_at", "id");


CREATE INDEX "IX_charge_allocations_charge_id" ON "charge_allocations" ("charge_id");


CREATE INDEX "IX_charge_allocations_lot_id" ON "charge_allocations" ("lot_id");


CREATE INDEX "IX_credit_charges_account_id" ON "credit_charges" ("account_id");


CREATE UNIQUE INDEX "IX_credit_charges_request_id" ON "credit_charges" ("request_id");


CREATE INDEX "IX_credit_holds_account_id_task" ON "credit_holds" ("account_id", "task");


CREATE INDEX "IX_credit_holds_active_expires_at" ON "credit_holds" ("expires_at") WHERE status = 'active';


CREATE UNIQUE INDEX "IX_credit_holds_request_id" ON "credit_holds" ("request_id");


CREATE INDEX "IX_credit_leases_instance_id" ON "credit_leases" ("instance_id");


CREATE INDEX "IX_credit_lots_account_id_expires_at" ON "credit_lots" ("account_id", "expires_at");


CREATE UNIQUE INDEX "IX_credit_lots_account_id_idempotency_key" ON "credit_lots" ("account_id", "idempotency_key");


CREATE INDEX "IX_gateway_keys_account_id" ON "gateway_keys" ("account_id");


CREATE UNIQUE INDEX "IX_gateway_keys_hash" ON "gateway_keys" ("hash");


CREATE INDEX "IX_gateway_keys_prefix" ON "gateway_keys" ("prefix");


CREATE INDEX "IX_lease_admissions_expires_at" ON "lease_admissions" ("expires_at");


CREATE INDEX "IX_lease_admissions_instance_id" ON "lease_admissions" ("instance_id");


CREATE INDEX "IX_ledger_entries_account_id_id" ON "ledger_entries" ("account_id", "id");


CREATE INDEX "IX_ledger_entries_account_id_type_id" ON "ledger_entries" ("account_id", "type", "id");


CREATE INDEX "IX_notification_deliveries_endpoint_status_next_attempt_at" ON "notification_deliveries" ("endpoint", "status", "next_attempt_at");


CREATE UNIQUE INDEX "IX_notification_deliveries_event_id_endpoint" ON "notification_deliveries" ("event_id", "endpoint");


CREATE INDEX "IX_notification_events_account_id_created_at" ON "notification_events" ("account_id", "created_at");


CREATE UNIQUE INDEX "IX_notification_events_account_id_type_episode" ON "notification_events" ("account_id", "type", "episode");


