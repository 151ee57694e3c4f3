-- Asynchronous video: jobs whose hold waits for a status poll (settled on completed, released on failed).
CREATE TABLE video_jobs (
    account_id uuid NOT NULL,
    video_id character varying(200) NOT NULL,
    request_id character varying(200) NOT NULL,
    cost_micro bigint NOT NULL,
    priced_model character varying(200) NOT NULL,
    created_at bigint NOT NULL,
    resolved_at bigint,
    outcome character varying(16),
    CONSTRAINT "PK_video_jobs" PRIMARY KEY (account_id, video_id),
    CONSTRAINT "FK_video_jobs_accounts_account_id" FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
