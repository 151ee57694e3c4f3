-- Storage per call (issue #17). The interrupted-call record an active hold keeps moves out of the hold row into a
-- table of its own, written at admission and deleted when the hold resolves (as on SQLite, where it left holes in the
-- hold table's pages): the hold row's versions no longer carry ~0.5 KB each. Records of active holds move over;
-- resolved holds have none.
CREATE TABLE credit_hold_records (
    hold_id bigint NOT NULL,
    record text NOT NULL,
    CONSTRAINT "PK_credit_hold_records" PRIMARY KEY (hold_id),
    CONSTRAINT "FK_credit_hold_records_credit_holds_hold_id" FOREIGN KEY (hold_id) REFERENCES credit_holds (id) ON DELETE CASCADE
);
INSERT INTO credit_hold_records (hold_id, record)
SELECT id, interrupted_record FROM credit_holds WHERE status = 'active' AND interrupted_record IS NOT NULL;
ALTER TABLE credit_holds DROP COLUMN interrupted_record;

-- The feature and task indexes hold tagged calls only: pages filter on one feature or task, never on untagged calls.
DROP INDEX "IX_call_records_account_id_feature_id";
CREATE INDEX "IX_call_records_account_id_feature_id" ON call_records (account_id, feature, id) WHERE feature IS NOT NULL;
DROP INDEX "IX_call_records_account_id_task_id";
CREATE INDEX "IX_call_records_account_id_task_id" ON call_records (account_id, task, id) WHERE task IS NOT NULL;
