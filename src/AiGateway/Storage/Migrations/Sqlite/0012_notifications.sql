-- Balance notifications: per-account settings and episode state, the outbox of events, and their deliveries per endpoint.
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

CREATE INDEX "IX_notification_deliveries_endpoint_status_next_attempt_at" ON "notification_deliveries" ("endpoint", "status", "next_attempt_at");
CREATE UNIQUE INDEX "IX_notification_deliveries_event_id_endpoint" ON "notification_deliveries" ("event_id", "endpoint");
CREATE INDEX "IX_notification_events_account_id_created_at" ON "notification_events" ("account_id", "created_at");
CREATE UNIQUE INDEX "IX_notification_events_account_id_type_episode" ON "notification_events" ("account_id", "type", "episode");

-- Accounts that already have lots start with both episodes armed; the last grant is their newest lot's amount.
INSERT INTO "notification_accounts" ("account_id", "last_grant", "low_armed", "low_episode", "exhausted_armed", "exhausted_episode", "updated_at")
SELECT a."id", (SELECT l."amount" FROM "credit_lots" l WHERE l."account_id" = a."id" ORDER BY l."id" DESC LIMIT 1), 1, 1, 1, 1, 0
FROM "accounts" a WHERE EXISTS (SELECT 1 FROM "credit_lots" l WHERE l."account_id" = a."id");
