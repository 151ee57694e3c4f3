-- Asynchronous video: jobs whose hold waits for a status poll (settled on completed, released on failed).
CREATE TABLE "video_jobs" (
    "account_id" TEXT NOT NULL,
    "video_id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "cost_micro" INTEGER NOT NULL,
    "priced_model" TEXT NOT NULL,
    "created_at" INTEGER NOT NULL,
    "resolved_at" INTEGER NULL,
    "outcome" TEXT NULL,
    CONSTRAINT "PK_video_jobs" PRIMARY KEY ("account_id", "video_id"),
    CONSTRAINT "FK_video_jobs_accounts_account_id" FOREIGN KEY ("account_id") REFERENCES "accounts" ("id") ON DELETE CASCADE
);
