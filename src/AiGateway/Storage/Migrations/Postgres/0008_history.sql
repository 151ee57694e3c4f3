-- History at scale: indexes in the order each account view reads, hourly usage rollups with their replay watermark,
-- and settled holds out of the sweep's index.
CREATE INDEX "IX_call_records_account_id_id" ON call_records (account_id, id);
CREATE INDEX "IX_call_records_account_id_feature_id" ON call_records (account_id, feature, id);
CREATE INDEX "IX_call_records_account_id_task_id" ON call_records (account_id, task, id);
CREATE INDEX "IX_ledger_entries_account_id_id" ON ledger_entries (account_id, id);

DROP INDEX "IX_credit_holds_status_expires_at";
DROP INDEX "IX_credit_holds_account_id";
CREATE INDEX "IX_credit_holds_active_expires_at" ON credit_holds (expires_at) WHERE status = 'active';

CREATE TABLE history_watermarks (
    name character varying(100) NOT NULL,
    position bigint NOT NULL,
    updated_at bigint NOT NULL,
    CONSTRAINT "PK_history_watermarks" PRIMARY KEY (name)
);

CREATE TABLE usage_rollups (
    account_id uuid NOT NULL,
    hour_start bigint NOT NULL,
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
    CONSTRAINT "PK_usage_rollups" PRIMARY KEY (account_id, hour_start, key_id, model, feature, task, status_code)
);

-- The rollups start empty at position 0: the background step replays every existing call.
INSERT INTO history_watermarks (name, position, updated_at) VALUES ('usage_rollups', 0, 0);
